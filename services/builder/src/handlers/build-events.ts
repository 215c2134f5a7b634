import {
  BuildFailedV1,
  BuildProgressV1,
  BuildStartedV1,
  BuildSucceededV1,
  DeployCommandV1,
  type Logger,
  type Publisher,
  type ReleaseRefV1,
  type ReleaseSpecV1,
} from '@appserving/shared';
import { ProgressThrottle, type BuildPhase } from '../domain/progress.ts';

/**
 * The events of one build, with the ids release-lifecycle.md fixes: `<release>.build.started`, `.succeeded`,
 * `.failed`, `.progress.<n>` (n counts per delivery, from (delivery-1)·1000+1), and `<release>.deploy` for the deploy command that follows a build with
 * `then_deploy`. A redelivered command that repeats its work republishes the same ids, so the stream keeps one.
 *
 * Progress lines are throttled (each phase, then about every 10% or 5 s of bytes) and published in order in the
 * background: a slow or failing publish of a progress line never holds the build up.
 */
export class BuildEvents {
  readonly #publisher: Publisher;
  readonly #ref: ReleaseRefV1;
  readonly #log: Logger;
  readonly #throttle: ProgressThrottle;
  #sequence = 0;
  #queue: Promise<void> = Promise.resolve();
  #stillPhase: BuildPhase | undefined;
  #stillMinutes = 0;
  #forced = false;

  /**
   * @param deps.deliveryCount the command's delivery: progress ids of delivery n start at (n-1)·1000+1, so the
   *   lines of a redelivered build are new lines, not repeats of the first delivery's ids that the stream drops.
   */
  constructor(deps: { publisher: Publisher; ref: ReleaseRefV1; log: Logger; deliveryCount?: number; now?: () => number }) {
    this.#sequence = ((deps.deliveryCount ?? 1) - 1) * 1000;
    this.#publisher = deps.publisher;
    this.#ref = deps.ref;
    this.#log = deps.log;
    this.#throttle = new ProgressThrottle(deps.now ?? Date.now);
  }

  #id(suffix: string): string {
    return `${this.#ref.release_id}.${suffix}`;
  }

  async started(method: 'kaniko' | 'direct'): Promise<void> {
    await this.#publisher.publish(BuildStartedV1, { id: this.#id('build.started'), appId: this.#ref.app_id, data: { release: this.#ref, method } });
  }

  /** A progress line, when the throttle lets it through. */
  progress(phase: BuildPhase, message: string, bytes?: { done: number; total: number | undefined }): void {
    if (!this.#throttle.admit(phase, bytes?.done, bytes?.total) && !this.#forced) return;
    this.#sequence += 1;
    const id = this.#id(`build.progress.${this.#sequence}`);
    const data = {
      release: this.#ref,
      phase,
      message,
      ...(bytes ? { done_bytes: bytes.done } : {}),
      ...(bytes?.total !== undefined ? { total_bytes: bytes.total } : {}),
    };
    this.#queue = this.#queue
      .then(() => this.#publisher.publish(BuildProgressV1, { id, appId: this.#ref.app_id, data }))
      .then(
        () => undefined,
        (error: unknown) => this.#log.warn({ err: error }, 'could not publish a build progress line'),
      );
  }

  /** A line that always goes out (a rare, notable step, such as copying a base layer from another registry). */
  note(phase: BuildPhase, message: string): void {
    this.#forced = true;
    this.progress(phase, message);
    this.#forced = false;
  }

  /**
   * A line for a long phase that moves no bytes (a Kaniko build): the phase line itself, then one a minute, so a
   * person watching sees the build is alive and for how long it has run.
   */
  still(phase: BuildPhase, message: string, sinceMs: number, now = Date.now()): void {
    const minutes = Math.floor((now - sinceMs) / 60_000);
    if (phase !== this.#stillPhase) {
      this.#stillPhase = phase;
      this.#stillMinutes = minutes;
      this.progress(phase, message);
      return;
    }
    if (minutes > this.#stillMinutes) {
      this.#stillMinutes = minutes;
      this.#forced = true;
      this.progress(phase, `${message} (${minutes} min)`);
      this.#forced = false;
    }
  }

  /** Waits for progress lines already queued, so they come before the result. */
  async flush(): Promise<void> {
    await this.#queue;
  }

  async succeeded(image: string, digest: string, reused: boolean): Promise<void> {
    await this.flush();
    await this.#publisher.publish(BuildSucceededV1, { id: this.#id('build.succeeded'), appId: this.#ref.app_id, data: { release: this.#ref, image, digest, reused } });
  }

  async failed(reason: string, logTail: readonly string[]): Promise<void> {
    await this.flush();
    await this.#publisher.publish(BuildFailedV1, { id: this.#id('build.failed'), appId: this.#ref.app_id, data: { release: this.#ref, reason: reason.slice(0, 4000), log_tail: [...logTail] } });
  }

  /** The deploy step of a `task_type: all` release: once, whatever happens to this command later. */
  async deploy(spec: ReleaseSpecV1, image: string): Promise<void> {
    await this.#publisher.publish(DeployCommandV1, { id: `${this.#ref.release_id}.deploy`, appId: this.#ref.app_id, data: { release: this.#ref, spec, image, skip_analysis: false } });
  }
}

/** Publishes `build.failed` for a release the builder only knows from a build Pod's labels (a cancelled build). */
export async function publishBuildFailed(publisher: Publisher, ref: ReleaseRefV1, reason: string): Promise<void> {
  await publisher.publish(BuildFailedV1, { id: `${ref.release_id}.build.failed`, appId: ref.app_id, data: { release: ref, reason, log_tail: [] } });
}
