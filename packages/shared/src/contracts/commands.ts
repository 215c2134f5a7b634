import Type from 'typebox';
import { messageType } from './cloudevent.ts';
import { ruleSchema } from './field-rules.ts';
import { releaseSpecProblems } from './release-spec.rules.ts';
import { ReleaseRefV1, ReleaseSpecV1 } from './release.schemas.ts';

/**
 * Commands: what someone wants done. Any system may publish them (the gateway is one producer among others);
 * the CloudEvent `id` is the command id and the `Nats-Msg-Id`, so a retried publish is dropped by the stream.
 */
export const BuildCommandV1 = messageType({
  type: 'dev.appserving.command.build.v1',
  subjectPrefix: 'appserving.cmd.build',
  description: 'Build and push the image of a release; with `then_deploy` the deploy step follows once.',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      spec: ReleaseSpecV1,
      then_deploy: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  problems: (data) => releaseSpecProblems(data.spec, '/spec'),
});

export const DeployCommandV1 = messageType({
  type: 'dev.appserving.command.deploy.v1',
  subjectPrefix: 'appserving.cmd.deploy',
  description: 'Deploy a release whose image exists (given by `image_url`, or built earlier).',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      spec: ReleaseSpecV1,
      image: ruleSchema('imageReference', { minLength: 1, description: 'Image reference, with digest when known.' }),
      skip_analysis: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  problems: (data) => releaseSpecProblems(data.spec, '/spec'),
});

const appOperation = (verb: string, description: string) =>
  messageType({
    type: `dev.appserving.command.${verb}.v1`,
    subjectPrefix: `appserving.cmd.${verb}`,
    description,
    data: Type.Object({ release: ReleaseRefV1 }, { additionalProperties: false }),
  });

export const PromoteCommandV1 = appOperation('promote', 'Open the promotion gate of a canary or blue/green release.');
export const AbortCommandV1 = appOperation('abort', 'Close the gate and return traffic to the previous release.');
export const DeleteCommandV1 = messageType({
  type: 'dev.appserving.command.delete.v1',
  subjectPrefix: 'appserving.cmd.delete',
  description:
    'Uninstall the app and remove what the platform created for it; history is kept. With `force`, the app is forgotten on the platform side at once, whether or not its cluster can be reached (one bounded attempt is made to clean it up).',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      force: Type.Optional(
        Type.Boolean({
          description: 'Forget the app on the platform at once (its cluster may be gone or unreachable); what may be left on the cluster is reported with the `deleted` step.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
});
