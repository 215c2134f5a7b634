import { describe, expect, it } from 'vitest';
import { analysisComplaint, rollbackOutcome } from './flagger-events.ts';
import { createGateTokens } from './gate-token.ts';
import { classifyHelmFailure } from './helm-errors.ts';
import { pendingRepair, releaseOfDescription, releaseOfValues, revisionDescription } from './helm-plan.ts';

const revision = (n: number, status: string) => ({ revision: n, status, description: '', updated: '', chart: 'appserving-app-0.1.0' });

describe('helm failures', () => {
  it('tells a refused release from a passing problem', () => {
    expect(classifyHelmFailure("values don't meet the specifications of the schema(s) in the following chart(s):\nappserving-app:\n- at '/port': maximum: got 70000, want 65535")).toBe('invalid');
    expect(classifyHelmFailure('template: appserving-app/templates/deployment.yaml:1:4: executing ... error calling fail: volumes: the name data is used twice')).toBe('invalid');
    expect(classifyHelmFailure('unable to build kubernetes objects from release manifest: resource mapping not found for name: "x" namespace: "" from "": no matches for kind "HTTPRoute" in version "gateway.networking.k8s.io/v1"')).toBe('invalid');
    expect(classifyHelmFailure('UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress')).toBe('pending');
    expect(classifyHelmFailure('release: not found')).toBe('not-found');
    expect(classifyHelmFailure('Kubernetes cluster unreachable: Get "https://127.0.0.1:26400/version": dial tcp 127.0.0.1:26400: connect: connection refused')).toBe('transient');
    expect(classifyHelmFailure('something nobody has seen before')).toBe('transient');
  });
});

describe('stuck releases', () => {
  it('rolls a stuck upgrade back to the last good revision, uninstalls a first install that never finished', () => {
    expect(pendingRepair([])).toBeUndefined();
    expect(pendingRepair([revision(1, 'superseded'), revision(2, 'deployed')])).toBeUndefined();
    expect(pendingRepair([revision(1, 'superseded'), revision(2, 'deployed'), revision(3, 'pending-upgrade')])).toMatchObject({ action: 'rollback', to: 2 });
    expect(pendingRepair([revision(1, 'deployed'), revision(2, 'failed'), revision(3, 'pending-rollback')])).toMatchObject({ action: 'rollback', to: 1 });
    expect(pendingRepair([revision(1, 'pending-install')])).toMatchObject({ action: 'uninstall', stuck: { revision: 1 } });
    expect(pendingRepair([revision(1, 'failed'), revision(2, 'pending-upgrade')])).toMatchObject({ action: 'uninstall' });
  });

  it('reads which release a revision carries, from its description or its values', () => {
    const release = { release_id: '1b6c5c8e-1111-4222-8333-444455556666', version: 7 };
    expect(releaseOfDescription(revisionDescription(release))).toEqual({ id: release.release_id, version: 7 });
    expect(releaseOfDescription('Upgrade complete')).toBeUndefined();
    expect(releaseOfDescription('Rollback to 2')).toBeUndefined();
    expect(releaseOfValues({ release: { id: 'r', version: 2, label: 'v2' } })).toEqual({ id: 'r', version: 2 });
    expect(releaseOfValues({})).toBeUndefined();
  });
});

describe('gate tokens', () => {
  const key1 = Buffer.alloc(32, 1);
  const key2 = Buffer.alloc(32, 2);
  it('bind the app and release, and survive a key rotation', () => {
    const tokens = createGateTokens([key1]);
    const token = tokens.tokenFor('app', 'release');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokens.verify('app', 'release', token)).toBe(true);
    expect(tokens.verify('app', 'other', token)).toBe(false);
    expect(tokens.verify('other', 'release', token)).toBe(false);
    expect(tokens.verify('app', 'release', token.slice(1))).toBe(false);
    expect(createGateTokens([key2]).verify('app', 'release', token)).toBe(false);
    const rotated = createGateTokens([key2, key1]);
    expect(rotated.verify('app', 'release', token)).toBe(true);
    expect(rotated.tokenFor('app', 'release')).not.toBe(token);
  });
});

describe('Flagger events', () => {
  it('keeps what Flagger says about the metrics, not the waiting', () => {
    expect(analysisComplaint('Halt orders.shop advancement success-rate 50.00 < 99')).toBe('Halt orders.shop advancement success-rate 50.00 < 99');
    expect(analysisComplaint('Halt advancement no values found for custom metric: success-rate: no values found')).toMatch(/no values found/);
    expect(analysisComplaint('Halt orders.shop advancement waiting for promotion approval appserving-confirm-promotion')).toBeUndefined();
    expect(analysisComplaint('Advance orders.shop canary weight 20')).toBeUndefined();
  });

  it('recognises a rollback Flagger decided on its own', () => {
    expect(rollbackOutcome('Rolling back orders.shop failed checks threshold reached 2')).toMatch(/threshold reached 2/);
    expect(rollbackOutcome('Canary failed! Scaling down orders.shop')).toMatch(/Canary failed/);
    expect(rollbackOutcome('Rolling back orders.shop manual webhook invoked')).toBeUndefined();
    expect(rollbackOutcome('Promotion completed! Scaling down orders.shop')).toBeUndefined();
  });
});
