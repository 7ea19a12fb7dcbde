/**
 * The per-attachment inputs a runtime gives: CNI_ARGS and capability arguments, for all networks and
 * per network. Kept apart from the manager because the merge rules are a contract of their own.
 */

/** CNI_ARGS as ordered pairs or as a record (kept in insertion order). */
export type CniArgsInput = ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;

/** The pod a Kubernetes runtime (kubelet through CRI) attaches: what {@link kubernetesArgs} encodes. */
export interface KubernetesPodArgs {
  namespace: string;
  name: string;
  /** The pod's UID. */
  uid?: string | undefined;
  /** The id of the pod's sandbox (infra) container. */
  infraContainerId?: string | undefined;
}

/**
 * CNI_ARGS for a Kubernetes pod, in the order ocicni and containerd send them:
 * `K8S_POD_NAMESPACE`, `K8S_POD_NAME`, `K8S_POD_INFRA_CONTAINER_ID`, `K8S_POD_UID` (the last two
 * only when given). The reference plugins refuse args they do not know unless `IgnoreUnknown=1`
 * comes with them: NetworkManager adds it by default, CNIConfig with `ignoreUnknownArgs: true`.
 */
export function kubernetesArgs(pod: KubernetesPodArgs): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['K8S_POD_NAMESPACE', pod.namespace],
    ['K8S_POD_NAME', pod.name],
  ];
  if (pod.infraContainerId !== undefined) out.push(['K8S_POD_INFRA_CONTAINER_ID', pod.infraContainerId]);
  if (pod.uid !== undefined) out.push(['K8S_POD_UID', pod.uid]);
  return out;
}

/** Normalize CNI_ARGS input to ordered pairs. */
export function argsToPairs(input: CniArgsInput | undefined): Array<[string, string]> {
  if (input === undefined) return [];
  if (Array.isArray(input))
    return (input as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, v]);
  return Object.entries(input as Record<string, string>).map(([k, v]) => [k, v]);
}

/**
 * Container-wide args overlaid with a network's own: a key given for the network replaces the
 * container-wide value in place (so the order stays stable), new keys are appended.
 */
export function mergeArgs(
  base: CniArgsInput | undefined,
  overlay: CniArgsInput | undefined,
): Array<[string, string]> | undefined {
  const out = argsToPairs(base);
  for (const [k, v] of argsToPairs(overlay)) {
    const at = out.findIndex(([key]) => key === k);
    if (at >= 0) out[at] = [k, v];
    else out.push([k, v]);
  }
  return out.length > 0 ? out : undefined;
}

/** Container-wide capability args overlaid (shallowly, per key) with a network's own. */
export function mergeCapabilityArgs(
  base: Readonly<Record<string, unknown>> | undefined,
  overlay: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | undefined {
  if (base === undefined && overlay === undefined) return undefined;
  const out = { ...base, ...overlay };
  return Object.keys(out).length > 0 ? out : undefined;
}
