// Writes samples into the local Prometheus through its remote-write receiver (--web.enable-remote-write-receiver),
// so tests feed metrics without anything being scraped. The wire format is a snappy-compressed protobuf
// `prometheus.WriteRequest`; both encodings are small enough to write here (see docs/local-cluster.md).

export interface RemoteWriteSeries {
  /** Metric name plus labels, e.g. { __name__: 'http_requests_total', app: 'demo' }. */
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly { value: number; timestampMs?: number }[];
}

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array | number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

function encodeLabel(name: string, value: string): number[] {
  return [...lengthDelimited(1, new TextEncoder().encode(name)), ...lengthDelimited(2, new TextEncoder().encode(value))];
}

function encodeSample(value: number, timestampMs: number): number[] {
  const double = new Uint8Array(8);
  new DataView(double.buffer).setFloat64(0, value, true);
  return [(1 << 3) | 1, ...double, ...varint((2 << 3) | 0), ...varint(BigInt(timestampMs))];
}

/** protobuf WriteRequest { repeated TimeSeries timeseries = 1 }; TimeSeries { labels = 1; samples = 2 }. */
export function encodeWriteRequest(series: readonly RemoteWriteSeries[], now = Date.now()): Uint8Array {
  const bytes: number[] = [];
  for (const s of series) {
    const ts: number[] = [];
    // Prometheus requires labels sorted by name.
    for (const [name, value] of Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      ts.push(...lengthDelimited(1, encodeLabel(name, value)));
    }
    for (const sample of s.samples) ts.push(...lengthDelimited(2, encodeSample(sample.value, sample.timestampMs ?? now)));
    bytes.push(...lengthDelimited(1, ts));
  }
  return Uint8Array.from(bytes);
}

/** Snappy block format using literals only: valid input for any snappy decoder, no compression needed here. */
export function snappyLiteral(data: Uint8Array): Uint8Array {
  const out: number[] = [...varint(data.length)];
  for (let off = 0; off < data.length; off += 65536) {
    const chunk = data.subarray(off, Math.min(off + 65536, data.length));
    const n = chunk.length - 1;
    if (n < 60) out.push(n << 2);
    else if (n < 0x100) out.push(60 << 2, n);
    else out.push(61 << 2, n & 0xff, n >> 8);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

/** POSTs the series to `<prometheusUrl>/api/v1/write`; throws with Prometheus' answer unless it accepts them. */
export async function remoteWrite(prometheusUrl: string, series: readonly RemoteWriteSeries[]): Promise<void> {
  const res = await fetch(`${prometheusUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    },
    body: snappyLiteral(encodeWriteRequest(series)),
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`remote write to ${prometheusUrl}: HTTP ${res.status} ${await res.text()}`);
}
