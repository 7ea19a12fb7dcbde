/**
 * A set of (containerId, ifName) pairs, for GC's valid lists. Keyed by the two strings as they
 * are, without building a joined key per pair: a container id maps to its one interface name (the
 * usual case) or to a set of them. Adding 100,000 pairs costs about what a Set of 100,000 ids costs;
 * joining the two parts into one string first costs several times that.
 */
export class AttachmentSet {
  private readonly byContainer = new Map<string, string | Set<string>>();

  /** Add the pair; true when it was not there yet. */
  add(containerId: string, ifName: string): boolean {
    const had = this.byContainer.get(containerId);
    if (had === undefined) {
      this.byContainer.set(containerId, ifName);
      return true;
    }
    if (typeof had === 'string') {
      if (had === ifName) return false;
      this.byContainer.set(containerId, new Set([had, ifName]));
      return true;
    }
    if (had.has(ifName)) return false;
    had.add(ifName);
    return true;
  }

  has(containerId: string, ifName: string): boolean {
    const had = this.byContainer.get(containerId);
    if (had === undefined) return false;
    return typeof had === 'string' ? had === ifName : had.has(ifName);
  }
}
