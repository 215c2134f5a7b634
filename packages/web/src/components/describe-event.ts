import type { TFunction } from 'i18next';

/** The short name of a CloudEvent type: `dev.appserving.build.started.v1` → `build.started`. */
export function eventKind(type: string): string {
  return type.replace(/^dev\.appserving\./, '').replace(/\.v[0-9]+$/, '');
}

type Data = Record<string, unknown>;
const str = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');

/**
 * One line, in the console's language, for a status event or a timeline entry. Values that come from the
 * platform (reasons, messages, image names) are passed through as they are and rendered as text.
 */
export function describeEvent(t: TFunction, type: string, data: Data): string {
  const kind = eventKind(type);
  switch (kind) {
    case 'build.started':
      return t('event.buildStarted', { method: t(`buildMethod.${str(data.method) || 'direct'}`) });
    case 'build.progress':
      return t('event.buildProgress', { phase: t(`buildPhase.${str(data.phase)}`, { defaultValue: str(data.phase) }), message: str(data.message) });
    case 'build.succeeded':
      return t(data.reused === true ? 'event.buildReused' : 'event.buildSucceeded', { image: str(data.image) });
    case 'build.failed':
      return t('event.buildFailed', { reason: str(data.reason) });
    case 'deploy.step':
      return t(`deployStep.${str(data.step)}`, { revision: str(data.helm_revision), reason: str(data.reason), defaultValue: str(data.step) }) + (data.reason && data.step !== 'failed' ? ` — ${str(data.reason)}` : '');
    case 'release.status': {
      const status = t(`status.${str(data.status)}`, { defaultValue: str(data.status) });
      const weight = typeof data.canary_weight === 'number' ? t('event.weight', { weight: data.canary_weight }) : '';
      return [t('event.status', { status }), weight, str(data.reason)].filter(Boolean).join(' · ');
    }
    case 'canary.analysis':
      return t('event.analysis', { step: str(data.step), weight: str(data.weight), verdict: t(`verdict.${str(data.verdict)}`, { defaultValue: str(data.verdict) }) });
    case 'app.health':
      return t('event.health', { status: t(`health.${str(data.status)}`), available: str(data.available_pods), desired: str(data.desired_pods) });
    default:
      if (kind.startsWith('command.')) return t('event.command', { command: t(`commandKind.${kind.slice('command.'.length)}`, { defaultValue: kind }) });
      return t('event.other', { kind });
  }
}
