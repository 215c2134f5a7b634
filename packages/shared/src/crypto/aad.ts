/**
 * The additional authenticated data that binds each kind of sealed secret to its row: a ciphertext copied into
 * another row does not decrypt there. Whoever seals (the gateway) and whoever opens (builder, deployer,
 * watcher) use these same functions.
 */
export const kubeconfigAad = (clusterId: string): string => `clusters.kubeconfig:${clusterId}`;

/** A release's app secret values (a JSON object of name → value). */
export const releaseSecretsAad = (releaseId: string): string => `release-secrets:${releaseId}`;
