import type { MessageType } from './cloudevent.ts';
import { AbortCommandV1, BuildCommandV1, DeleteCommandV1, DeployCommandV1, PromoteCommandV1 } from './commands.ts';
import { AppHealthChangedV1, BuildFailedV1, BuildProgressV1, BuildStartedV1, BuildSucceededV1, CanaryAnalysisV1, DeployStepV1, ReleaseStatusChangedV1 } from './events.ts';

/**
 * The one catalog of what travels on NATS: streams, the message types stored in each, and the durable
 * consumers that read them. Services ensure this topology at start; docs/messaging.md and the AsyncAPI
 * document describe it for outside producers and subscribers.
 */
export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly description: string;
  /** How long messages are kept. */
  readonly maxAgeMs: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped by the server. */
  readonly duplicateWindowMs: number;
}

const day = 24 * 60 * 60 * 1000;

export const streams = {
  commands: {
    name: 'APPSERVING_COMMANDS',
    subjects: ['appserving.cmd.>'],
    description: 'Commands from the gateway and from any other producer.',
    maxAgeMs: 7 * day,
    duplicateWindowMs: 15 * 60 * 1000,
  },
  events: {
    name: 'APPSERVING_EVENTS',
    subjects: ['appserving.evt.>'],
    description: 'What happened: builds, deploy steps and release status changes.',
    maxAgeMs: 30 * day,
    duplicateWindowMs: 15 * 60 * 1000,
  },
  deadLetters: {
    name: 'APPSERVING_DLQ',
    subjects: ['appserving.dlq.>'],
    description: 'Messages a consumer gave up on, each with the reason (subject appserving.dlq.<consumer>).',
    maxAgeMs: 30 * day,
    duplicateWindowMs: 15 * 60 * 1000,
  },
} as const satisfies Record<string, StreamDefinition>;

export interface ConsumerDefinition {
  /** Durable name, shared by every replica of the service. */
  readonly name: string;
  readonly stream: StreamDefinition;
  /**
   * One wildcard (servers before NATS 2.10 allow only one filter per consumer). Messages it matches whose
   * catalog type the consumer does not handle are acknowledged and skipped.
   */
  readonly filterSubject: string;
  /** The types this consumer handles. */
  readonly messageTypes: readonly MessageType[];
  readonly description: string;
}

export const commandTypes = [BuildCommandV1, DeployCommandV1, PromoteCommandV1, AbortCommandV1, DeleteCommandV1] as const;
export const eventTypes = [BuildStartedV1, BuildProgressV1, BuildSucceededV1, BuildFailedV1, DeployStepV1, ReleaseStatusChangedV1, CanaryAnalysisV1, AppHealthChangedV1] as const;

export const consumers = {
  builder: {
    name: 'builder',
    stream: streams.commands,
    filterSubject: 'appserving.cmd.>',
    messageTypes: [BuildCommandV1, DeleteCommandV1],
    description: 'Builds images; a delete cancels a running build.',
  },
  deployer: {
    name: 'deployer',
    stream: streams.commands,
    filterSubject: 'appserving.cmd.>',
    messageTypes: [DeployCommandV1, PromoteCommandV1, AbortCommandV1, DeleteCommandV1],
    description: 'Runs helm and drives Flagger gates.',
  },
  projectionCommands: {
    name: 'watcher-projection-commands',
    stream: streams.commands,
    filterSubject: 'appserving.cmd.>',
    messageTypes: commandTypes,
    description: 'Records every accepted command in the timeline.',
  },
  projectionEvents: {
    name: 'watcher-projection-events',
    stream: streams.events,
    filterSubject: 'appserving.evt.>',
    messageTypes: eventTypes,
    description: 'Records every event in the timeline, once by event id.',
  },
  statusEvents: {
    name: 'watcher-status-events',
    stream: streams.events,
    filterSubject: 'appserving.evt.>',
    messageTypes: [BuildStartedV1, BuildProgressV1, BuildSucceededV1, BuildFailedV1, DeployStepV1],
    description: 'Moves releases through their status machine on build and deploy events (the watcher is the one writer of status).',
  },
  statusCommands: {
    name: 'watcher-status-commands',
    stream: streams.commands,
    filterSubject: 'appserving.cmd.>',
    messageTypes: [BuildCommandV1, DeployCommandV1, DeleteCommandV1],
    description:
      'Registers the app and release of a command from another producer than the gateway; moves a deploy-only release to deploying when its deploy command is recorded; cancels the releases of a deleted app.',
  },
} as const satisfies Record<string, ConsumerDefinition>;

const allTypes: readonly MessageType[] = [...commandTypes, ...eventTypes];

export function messageTypeOf(type: string): MessageType | undefined {
  return allTypes.find((t) => t.type === type);
}

export const allMessageTypes = allTypes;
