import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Apps that really run on the local cluster's real node, made by the test from source with this machine's JDK
 * (javac, jar) and Debian's servlet API: nothing binary is committed, and what answers is the code written here.
 */

/**
 * A small Java HTTP server (the JDK's own com.sun.net.httpserver), packaged as an executable jar. Its answers show
 * it really ran: `/` gives `hello <version> <token>` with a token it made at start and printed to stdout; `/env/X`
 * and `/file?path=` read its environment and files (config and secret mounts); `/health` answers 200. Modes (env
 * HELLO_MODE) make it fail the ways apps fail: `exit` (exits 3 at start), `oom` (allocates until killed), `unready`
 * (its health path never answers 200). With HELLO_DATA set, it appends `<version> <token>` to $HELLO_DATA/visits at start;
 * HELLO_BIND names the one address it listens on (all of them by default); HELLO_FAIL_EVERY=n answers every n-th
 * request to `/` with a 500 (a bad release for canary analysis to catch). `/print?text=…` prints the text to stdout as a
 * line of its own (a log line a test can wait for).
 */
const HELLO_JAVA = `package demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

public class Hello {
  public static void main(String[] args) throws Exception {
    String version;
    try (InputStream in = Hello.class.getResourceAsStream("/version.txt")) {
      version = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
    String token = UUID.randomUUID().toString().substring(0, 8);
    String mode = System.getenv().getOrDefault("HELLO_MODE", "serve");
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    System.out.println("hello " + version + " starting, token " + token + ", mode " + mode + ", port " + port);
    if (mode.equals("exit")) {
      System.out.println("fatal: HELLO_MODE=exit, giving up before listening");
      System.exit(3);
    }
    if (mode.equals("oom")) {
      List<byte[]> hoard = new ArrayList<>();
      while (true) {
        byte[] chunk = new byte[8 << 20];
        for (int i = 0; i < chunk.length; i += 4096) chunk[i] = 1;
        hoard.add(chunk);
        System.out.println("holding " + hoard.size() * 8 + " MiB");
      }
    }
    String data = System.getenv("HELLO_DATA");
    if (data != null) {
      Path visits = Path.of(data, "visits");
      Files.writeString(visits, version + " " + token + "\\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }
    String bind = System.getenv("HELLO_BIND");
    HttpServer server = HttpServer.create(bind == null ? new InetSocketAddress(port) : new InetSocketAddress(bind, port), 64);
    int failEvery = Integer.parseInt(System.getenv().getOrDefault("HELLO_FAIL_EVERY", "0"));
    java.util.concurrent.atomic.AtomicLong served = new java.util.concurrent.atomic.AtomicLong();
    server.createContext("/", exchange -> {
      boolean fail = failEvery > 0 && served.incrementAndGet() % failEvery == 0;
      answer(exchange, fail ? 500 : 200, fail ? "hello " + version + " failing on purpose" : "hello " + version + " " + token);
    });
    server.createContext("/print", exchange -> {
      String query = exchange.getRequestURI().getRawQuery();
      System.out.println(URLDecoder.decode(query == null ? "" : query.replaceFirst("^text=", ""), StandardCharsets.UTF_8));
      answer(exchange, 200, "printed");
    });
    server.createContext("/health", exchange -> answer(exchange, mode.equals("unready") ? 503 : 200, mode.equals("unready") ? "not ready" : "ok"));
    server.createContext("/env/", exchange -> {
      String name = exchange.getRequestURI().getPath().substring("/env/".length());
      String value = System.getenv(name);
      answer(exchange, value == null ? 404 : 200, value == null ? "unset" : value);
    });
    server.createContext("/file", exchange -> {
      String query = exchange.getRequestURI().getRawQuery();
      Path path = Path.of(URLDecoder.decode(query == null ? "" : query.replaceFirst("^path=", ""), StandardCharsets.UTF_8));
      if (!Files.isRegularFile(path)) {
        answer(exchange, 404, "no file " + path);
        return;
      }
      answer(exchange, 200, Files.readString(path));
    });
    server.start();
    System.out.println("hello " + version + " listening on " + port);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("hello " + version + " stopping");
      server.stop(1);
    }));
  }

  private static void answer(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("content-type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }
}
`;

/** Builds the hello app as an executable jar answering `hello <version> …`; `padBytes` makes it that much bigger. */
export async function helloJar(version: string, opts: { padBytes?: number } = {}): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'hello-jar-'));
  try {
    await mkdir(join(dir, 'src/demo'), { recursive: true });
    await mkdir(join(dir, 'classes'), { recursive: true });
    await writeFile(join(dir, 'src/demo/Hello.java'), HELLO_JAVA);
    await run('javac', ['--release', '17', '-d', join(dir, 'classes'), join(dir, 'src/demo/Hello.java')]);
    await writeFile(join(dir, 'classes/version.txt'), `${version}\n`);
    if (opts.padBytes) {
      // Incompressible bytes, so the jar (and its upload and layer) really has this size.
      const { randomBytes } = await import('node:crypto');
      await writeFile(join(dir, 'classes/padding.bin'), randomBytes(opts.padBytes));
    }
    await writeFile(join(dir, 'manifest.txt'), 'Main-Class: demo.Hello\nBuild-Jdk-Spec: 17\n');
    await run('jar', ['--create', '--file', join(dir, 'hello.jar'), '--manifest', join(dir, 'manifest.txt'), '-C', join(dir, 'classes'), '.']);
    return await readFile(join(dir, 'hello.jar'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Debian's Jakarta Servlet API (libtomcat10-java), which the test war is compiled against; Tomcat provides it at run time. */
const SERVLET_API = '/usr/share/java/tomcat10-servlet-api.jar';

/** A war with one Jakarta servlet at `/` answering `war <version> on <server info>` (Tomcat's own version string). */
export async function helloWar(version: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'hello-war-'));
  try {
    await mkdir(join(dir, 'src/demo'), { recursive: true });
    await mkdir(join(dir, 'war/WEB-INF/classes'), { recursive: true });
    await writeFile(
      join(dir, 'src/demo/HelloServlet.java'),
      `package demo;

import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

@WebServlet("/")
public class HelloServlet extends HttpServlet {
  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
    response.setContentType("text/plain");
    response.getWriter().print("war ${version} on " + getServletContext().getServerInfo());
  }
}
`,
    );
    await run('javac', ['--release', '17', '-cp', SERVLET_API, '-d', join(dir, 'war/WEB-INF/classes'), join(dir, 'src/demo/HelloServlet.java')]).catch((error: unknown) => {
      throw new Error(`compiling the test servlet needs Debian's libtomcat10-java (${SERVLET_API}) and a JDK: ${String(error)}`, { cause: error });
    });
    await run('jar', ['--create', '--file', join(dir, 'hello.war'), '-C', join(dir, 'war'), '.']);
    return await readFile(join(dir, 'hello.war'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A Python WSGI app in a folder (wsgi.py and a requirements.txt that Debian's packages in the node's Python image
 * satisfy: PyPI cannot be reached here), answering `python <version> <token>` with a token made at import.
 */
export async function helloPythonFolder(version: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hello-python-'));
  await writeFile(
    join(dir, 'wsgi.py'),
    [
      'import secrets, sys',
      'import flask',
      'TOKEN = secrets.token_hex(4)',
      `print("python ${version} starting, token", TOKEN, flush=True)`,
      'application = flask.Flask(__name__)',
      '',
      "@application.get('/')",
      'def hello():',
      `    return f"python ${version} {TOKEN} flask {flask.__version__} python {sys.version_info.major}.{sys.version_info.minor}"`,
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'requirements.txt'), 'flask\n');
  return dir;
}

/**
 * GET on an app's public URL. Its host is `<app>-<namespace>.localhost`, which browsers and curl send to 127.0.0.1
 * themselves but this machine's resolver does not know: the connection goes to 127.0.0.1 (RFC 6761), with the
 * URL's host name in the Host header, as a browser would send it.
 */
export function getFromEndpoint(url: string, path = '/'): Promise<{ status: number; body: string }> {
  const target = new URL(path, url);
  if (target.hostname !== 'localhost' && !target.hostname.endsWith('.localhost')) throw new Error(`not a local endpoint: ${url}`);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        lookup: (_host: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void) =>
          opts.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4),
      } as never,
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout on ${target.href}`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The body of the first 200 from an app's public URL that `accept` takes, retried for up to `timeoutMs`: the
 * traffic gateway learns a new pod's address a moment after the release succeeded (it answers 503 "no available
 * server" until then).
 */
export async function answerFromEndpoint(url: string, path = '/', accept: (body: string) => boolean = () => true, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await getFromEndpoint(url, path).catch(() => ({ status: 0, body: '' }));
    if (got.status === 200 && accept(got.body)) return got.body;
    if (Date.now() > deadline) throw new Error(`${url}${path} answered ${got.status}: ${got.body}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One request of a steady client: when it was sent, what came back. */
export interface ClientSample {
  readonly at: number;
  readonly status: number;
  /** The `hello <version>` of the answer, or '' for anything else. */
  readonly version: string;
}

export interface SteadyClient {
  readonly samples: ClientSample[];
  stop(): Promise<ClientSample[]>;
}

/**
 * A user of the app: one request at a time to `url`, about `rps` a second, until stopped, each answer recorded.
 * A request that fails (no connection, a timeout, a 5xx) is a failed request of a real user.
 */
export function startSteadyClient(url: string, rps = 10): SteadyClient {
  const samples: ClientSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const answer = await getFromEndpoint(url).catch((error: unknown) => ({ status: 0, body: String(error) }));
      samples.push({ at, status: answer.status, version: /^hello (\S+) /.exec(answer.body)?.[1] ?? '' });
      const wait = 1000 / rps - (Date.now() - at);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}
