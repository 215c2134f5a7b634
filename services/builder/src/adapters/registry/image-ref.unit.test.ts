import { describe, expect, it } from 'vitest';
import { parseChallenge } from './auth-challenge.ts';
import { apiHostOf, formatImageRef, parseImageRef } from './image-ref.ts';

describe('image references', () => {
  it('expands Docker Hub short names and keeps registry hosts, tags and digests', () => {
    expect(parseImageRef('tomcat:10.1-jre21')).toEqual({ host: 'docker.io', repository: 'library/tomcat', tag: '10.1-jre21', digest: undefined });
    expect(parseImageRef('docker.io/library/eclipse-temurin:21-jre')).toMatchObject({ host: 'docker.io', repository: 'library/eclipse-temurin', tag: '21-jre' });
    expect(parseImageRef('127.0.0.1:26408/team/app')).toEqual({ host: '127.0.0.1:26408', repository: 'team/app', tag: 'latest', digest: undefined });
    const digest = `sha256:${'0'.repeat(64)}`;
    expect(parseImageRef(`ghcr.io/osscontainertools/kaniko:v1.27.0@${digest}`)).toEqual({ host: 'ghcr.io', repository: 'osscontainertools/kaniko', tag: 'v1.27.0', digest });
    expect(parseImageRef('localhost/app:1').host).toBe('localhost');
    expect(formatImageRef(parseImageRef('python:3.12-slim'))).toBe('docker.io/library/python:3.12-slim');
    expect(apiHostOf('docker.io')).toBe('registry-1.docker.io');
  });

  it('refuses what is not a reference', () => {
    expect(() => parseImageRef('Upper/Case')).toThrow(/repository must be lowercase/);
    expect(() => parseImageRef('app@sha256:short')).toThrow(/digest/);
    expect(() => parseImageRef('app:bad tag')).toThrow(/tag/);
    expect(() => parseImageRef('app\nRUN x')).toThrow();
  });
});

describe('registry authentication challenges', () => {
  it('reads a bearer challenge (Docker Hub, Harbor) and a basic one', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/tomcat:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/tomcat:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('Negotiate')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});
