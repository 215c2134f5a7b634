import Type from 'typebox';

/**
 * Where the pods the platform makes on a cluster may run: a node selector and tolerations, applied to every app
 * pod (through the app chart) and every Kaniko build Pod on that cluster. A setting of the cluster, made by the
 * admin who registers it (`POST /clusters` `placement`, or APPSERVING_LOCAL_CLUSTER_PLACEMENT for the `local`
 * cluster): e.g. a node pool for apps, or the local cluster's real node, which is tainted so that only pods that
 * ask for it run there (docs/local-cluster.md).
 */
const labelKey = Type.String({
  pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$',
  maxLength: 317,
  description: 'A Kubernetes label key: an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".".',
});
const labelValue = Type.String({
  pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$',
  description: 'A Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit.',
});

export const Toleration = Type.Object(
  {
    key: Type.Optional(labelKey),
    operator: Type.Optional(Type.Enum(['Equal', 'Exists'], { description: 'Equal (the default) matches key and value; Exists matches the key (or, without a key, every taint).' })),
    value: Type.Optional(labelValue),
    effect: Type.Optional(Type.Enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], { description: 'The taint effect tolerated; every effect when left out.' })),
  },
  { additionalProperties: false },
);
export type Toleration = Type.Static<typeof Toleration>;

export const PodPlacement = Type.Object(
  {
    node_selector: Type.Optional(Type.Record(labelKey, labelValue, { maxProperties: 20, description: 'Labels a node must have to run the pods.' })),
    tolerations: Type.Optional(Type.Array(Toleration, { maxItems: 20, description: 'Taints of nodes the pods may run on anyway.' })),
  },
  { additionalProperties: false, description: 'Where the pods of apps and builds on this cluster run: a node selector and tolerations.' },
);
export type PodPlacement = Type.Static<typeof PodPlacement>;

/** A placement as Kubernetes pod spec fields (`nodeSelector`, `tolerations`), empty when none is set. */
export interface KubePlacement {
  readonly nodeSelector: Record<string, string>;
  readonly tolerations: { key?: string; operator?: string; value?: string; effect?: string }[];
}

export function kubePlacement(placement: PodPlacement | null | undefined): KubePlacement {
  return {
    nodeSelector: { ...placement?.node_selector },
    tolerations: (placement?.tolerations ?? []).map((t) => ({
      ...(t.key !== undefined ? { key: t.key } : {}),
      operator: t.operator ?? 'Equal',
      ...(t.value !== undefined ? { value: t.value } : {}),
      ...(t.effect !== undefined ? { effect: t.effect } : {}),
    })),
  };
}

/**
 * Checks what a schema cannot: Kubernetes refuses a toleration with operator Exists and a value, and one with
 * operator Equal and no key. Returns the problems, each naming the toleration by its position.
 */
export function placementProblems(placement: PodPlacement): string[] {
  const problems: string[] = [];
  (placement.tolerations ?? []).forEach((t, i) => {
    const operator = t.operator ?? 'Equal';
    if (operator === 'Exists' && t.value !== undefined && t.value !== '') problems.push(`tolerations[${i}]: operator Exists takes no value`);
    if (operator === 'Equal' && !t.key) problems.push(`tolerations[${i}]: operator Equal needs a key`);
  });
  return problems;
}
