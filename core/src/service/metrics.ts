/** Prometheus counters and a latency histogram kept in memory; rendered in the text exposition format. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(
    ([key, value]) => `${key}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; count: number }>();
  private readonly histogram = new Map<string, { buckets: number[]; sum: number; count: number }>();
  private readonly started = Date.now();

  /** `route` is the route template (`/api/v1/jobs/{id}`), never the raw path: label values stay few. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    const entry = this.requests.get(key) ?? { labels: { method, route, status: String(status) }, count: 0 };
    entry.count += 1;
    this.requests.set(key, entry);
    const hkey = `${method} ${route}`;
    const h = this.histogram.get(hkey) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) h.buckets[index]! += 1;
    });
    h.sum += seconds;
    h.count += 1;
    this.histogram.set(hkey, h);
  }

  render(gauges: { jobs: Record<string, number>; images: number }): string {
    const lines: string[] = [];
    lines.push("# HELP stowaway_http_requests_total HTTP requests by method, route and status.");
    lines.push("# TYPE stowaway_http_requests_total counter");
    for (const entry of this.requests.values())
      lines.push(`stowaway_http_requests_total${labels(entry.labels)} ${entry.count}`);
    lines.push("# HELP stowaway_http_request_duration_seconds Time to answer, by method and route.");
    lines.push("# TYPE stowaway_http_request_duration_seconds histogram");
    for (const [key, h] of this.histogram) {
      const [method, route] = key.split(" ") as [string, string];
      BUCKETS.forEach((bound, index) =>
        lines.push(
          `stowaway_http_request_duration_seconds_bucket${labels({ method, route, le: String(bound) })} ${h.buckets[index]}`,
        ),
      );
      lines.push(`stowaway_http_request_duration_seconds_bucket${labels({ method, route, le: "+Inf" })} ${h.count}`);
      lines.push(`stowaway_http_request_duration_seconds_sum${labels({ method, route })} ${h.sum}`);
      lines.push(`stowaway_http_request_duration_seconds_count${labels({ method, route })} ${h.count}`);
    }
    lines.push("# HELP stowaway_jobs Jobs in the queue by state.");
    lines.push("# TYPE stowaway_jobs gauge");
    for (const state of ["queued", "running", "retrying", "succeeded", "failed"]) {
      lines.push(`stowaway_jobs${labels({ state })} ${gauges.jobs[state] ?? 0}`);
    }
    lines.push("# HELP stowaway_images_stored Images (manifest digests) in the store.");
    lines.push("# TYPE stowaway_images_stored gauge");
    lines.push(`stowaway_images_stored ${gauges.images}`);
    lines.push("# HELP stowaway_uptime_seconds Seconds since the service started.");
    lines.push("# TYPE stowaway_uptime_seconds gauge");
    lines.push(`stowaway_uptime_seconds ${(Date.now() - this.started) / 1000}`);
    return `${lines.join("\n")}\n`;
  }
}
