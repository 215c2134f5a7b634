import { fieldRules, PodPlacement } from '@appserving/shared';
import Type from 'typebox';

export { ErrorBody } from './app.schemas.ts';

/**
 * REST schemas of /clusters, /projects and /tokens. Each schema and its type share one name. Response schemas
 * also act as a filter: a field that is not listed (a kubeconfig, a token hash) is never serialised.
 */
const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', errorMessage: 'must be a UUID' });
const Timestamp = Type.String({ format: 'date-time' });
const dnsLabel = (what: string) =>
  Type.String({
    pattern: '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$',
    errorMessage: `${what} must be a DNS label: lowercase letters, digits and "-", starting with a letter, at most 63 characters`,
  });

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Type.Static<typeof IdParams>;

export const ClusterHealthView = Type.Object(
  {
    status: Type.Enum(['ok', 'unreachable', 'unauthorized', 'forbidden', 'error', 'unknown'], {
      description: 'ok: the API server answers and the credentials may do what the platform needs; unknown: not checked yet by this gateway.',
    }),
    message: Type.String(),
    version: Type.Union([Type.String(), Type.Null()], { description: "The API server's version (gitVersion), when it answered." }),
    missing_permissions: Type.Array(Type.String()),
    checked_at: Type.Union([Timestamp, Type.Null()]),
  },
  { description: "The last test call to the cluster's API server (re-checked every APPSERVING_CLUSTER_HEALTH_INTERVAL_MS, or with POST /clusters/{id}/check)." },
);
export type ClusterHealthView = Type.Static<typeof ClusterHealthView>;

export const ClusterView = Type.Object({
  id: Uuid,
  name: Type.String(),
  api_server_url: Type.String(),
  is_default: Type.Boolean(),
  prometheus_url: Type.Union([Type.String(), Type.Null()]),
  placement: Type.Union([PodPlacement, Type.Null()]),
  image_registries: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: "Registries its apps may pull from besides the platform's own; null: any registry on a public address.",
  }),
  health: ClusterHealthView,
  created_at: Timestamp,
});
export type ClusterView = Type.Static<typeof ClusterView>;

export const ClusterList = Type.Object({ clusters: Type.Array(ClusterView) });

export const RegisterClusterBody = Type.Object(
  {
    name: dnsLabel('a cluster name'),
    kubeconfig: Type.String({
      minLength: 1,
      maxLength: 262_144,
      writeOnly: true,
      description: 'The kubeconfig (YAML or JSON) the platform uses for this cluster, with inline credentials. Encrypted at rest; never returned or logged.',
    }),
    default: Type.Optional(Type.Boolean({ description: 'Make this the default cluster (the first cluster is the default anyway).' })),
    prometheus_url: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s]+$',
        maxLength: 2048,
        description: "The cluster's Prometheus (http or https URL), which canary and blue-green analysis of its apps queries. Without it only rolling releases can run there.",
      }),
    ),
    placement: Type.Optional(PodPlacement),
    image_registries: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?(:[1-9][0-9]{0,4})?$',
          errorMessage: 'must be a registry host or host:port in lower case, e.g. harbor.example.com or 10.0.0.5:5000',
        }),
        {
          maxItems: 50,
          uniqueItems: true,
          description:
            "Registries the cluster's apps may pull images (image_url) from, besides the platform's own (APPSERVING_REGISTRY); they may be on private addresses. Left out: any registry whose host has public addresses only.",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RegisterClusterBody = Type.Static<typeof RegisterClusterBody>;

export const RemoveClusterQuery = Type.Object(
  {
    force: Type.Optional(
      Type.Enum(['true', 'false'], {
        errorMessage: 'must be true or false',
        description: 'true: delete its apps by force (forgotten at once, whatever the cluster does) and its projects, then remove it.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RemoveClusterQuery = Type.Static<typeof RemoveClusterQuery>;

export const RemovedCluster = Type.Object({
  forgotten_apps: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      left_behind: Type.Object({ summary: Type.String(), cleanup: Type.Array(Type.String()) }),
    }),
    { description: 'Apps deleted by force with the cluster, each with what may be left on it.' },
  ),
});

export const ProjectView = Type.Object({
  id: Uuid,
  name: Type.String(),
  cluster_id: Uuid,
  namespace: Type.String(),
  created_at: Timestamp,
});
export type ProjectView = Type.Static<typeof ProjectView>;

export const ProjectList = Type.Object({ projects: Type.Array(ProjectView) });

export const CreateProjectBody = Type.Object(
  {
    name: dnsLabel('a project name'),
    cluster_id: Uuid,
    namespace: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
        errorMessage: 'a namespace must be an RFC 1123 label: lowercase letters, digits and "-", at most 63 characters',
        description: 'Kubernetes namespace of the project\'s apps; the project name when left out.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateProjectBody = Type.Static<typeof CreateProjectBody>;

export const TokenView = Type.Object({
  id: Uuid,
  name: Type.String(),
  token_prefix: Type.String({ description: 'The first 8 characters after `aps_`, to recognise the token.' }),
  is_admin: Type.Boolean(),
  project_ids: Type.Array(Uuid),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()]),
  revoked_at: Type.Union([Timestamp, Type.Null()]),
});
export type TokenView = Type.Static<typeof TokenView>;

export const TokenList = Type.Object({ tokens: Type.Array(TokenView) });

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: fieldRules.plainText.pattern, errorMessage: `must be 1 to 100 characters and ${fieldRules.plainText.errorMessage}` }),
    project_ids: Type.Optional(Type.Array(Uuid, { maxItems: 100, description: 'Projects the token reaches; required unless admin.' })),
    admin: Type.Optional(Type.Boolean({ description: 'An admin token reaches every project and manages clusters, projects and tokens.' })),
  },
  { additionalProperties: false },
);
export type CreateTokenBody = Type.Static<typeof CreateTokenBody>;

export const CreatedToken = Type.Object({
  id: Uuid,
  name: Type.String(),
  token: Type.String({ description: 'The token itself: shown this once, stored only as a hash.' }),
  token_prefix: Type.String(),
  is_admin: Type.Boolean(),
  project_ids: Type.Array(Uuid),
  created_at: Timestamp,
});
export type CreatedToken = Type.Static<typeof CreatedToken>;
