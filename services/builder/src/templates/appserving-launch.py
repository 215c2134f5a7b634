"""AppServing's launcher for Python apps, written into the image by the builder (docs/builder.md).

install ARCHIVE DIR  unpacks the app's zip into DIR (one top-level folder is stripped) and installs its
                     requirements.txt with pip.
run DIR              starts the app: APP_MODULE (module:callable) under gunicorn (WSGI) or uvicorn (ASGI),
                     or wsgi.py / asgi.py, or APP_SCRIPT, main.py or app.py as a script; listens on $PORT.
"""
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile


def fail(message):
    sys.exit(f"appserving: {message}")


def install(archive, directory):
    target = pathlib.Path(directory).resolve()
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as bundle:
        entries = bundle.infolist()
        files = [e.filename for e in entries if not e.is_dir()]
        if not files:
            fail("the app archive is empty")
        tops = {name.split("/", 1)[0] for name in (e.filename for e in entries)}
        strip = len(tops) == 1 and all("/" in name for name in files)
        for entry in entries:
            name = entry.filename.split("/", 1)[1] if strip else entry.filename
            if not name:
                continue
            destination = (target / name).resolve()
            if destination != target and target not in destination.parents:
                fail(f"refusing an archive entry outside the app folder: {entry.filename}")
            if entry.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(entry) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
    os.remove(archive)
    requirements = target / "requirements.txt"
    if requirements.exists():
        print("appserving: installing requirements.txt", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "-r", str(requirements)], check=True)
    else:
        print("appserving: no requirements.txt; nothing to install", flush=True)


def installed(module):
    return importlib.util.find_spec(module) is not None


def run(directory):
    os.chdir(directory)
    sys.path.insert(0, directory)
    port = os.environ.get("PORT", "8080")
    module = os.environ.get("APP_MODULE")
    server = os.environ.get("APP_SERVER")
    if not module and os.path.exists("wsgi.py"):
        module, server = "wsgi:application", server or "gunicorn"
    elif not module and os.path.exists("asgi.py"):
        module, server = "asgi:application", server or "uvicorn"
    if module:
        if not server:
            server = "gunicorn" if installed("gunicorn") else "uvicorn" if installed("uvicorn") else None
        if server == "gunicorn":
            argv = [sys.executable, "-m", "gunicorn", "--bind", f"0.0.0.0:{port}", module]
        elif server == "uvicorn":
            argv = [sys.executable, "-m", "uvicorn", "--host", "0.0.0.0", "--port", port, module]
        else:
            fail("APP_MODULE needs gunicorn (WSGI) or uvicorn (ASGI): add one to requirements.txt, or set APP_SERVER")
    else:
        script = os.environ.get("APP_SCRIPT") or next((s for s in ("main.py", "app.py", "__main__.py") if os.path.exists(s)), None)
        if not script:
            fail("no entry point: set APP_MODULE (module:callable, WSGI or ASGI) or APP_SCRIPT, or ship main.py or app.py")
        argv = [sys.executable, script]
    print(f"appserving: starting {' '.join(argv[1:])}", flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "install":
        install(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
    else:
        fail("usage: launch.py install ARCHIVE DIR | run DIR")
