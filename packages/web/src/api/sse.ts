/**
 * Reads Server-Sent Events from a body until it ends, the handler says 'end', or the signal aborts: `event:`
 * names, `data:` lines (joined with newlines), `:` comments (keep-alives) skipped.
 */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: string, data: string) => 'end' | undefined, signal: AbortSignal): Promise<'end' | 'cut'> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) return 'cut';
      pending += decoder.decode(value, { stream: true });
      for (let boundary = blockEnd(pending); boundary; boundary = blockEnd(pending)) {
        const block = pending.slice(0, boundary.at);
        pending = pending.slice(boundary.at + boundary.length);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split(/\r\n|\r|\n/)) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length > 0 && onEvent(event, data.join('\n')) === 'end') return 'end';
      }
    }
    return 'cut';
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function blockEnd(text: string): { at: number; length: number } | undefined {
  const match = /\r\n\r\n|\n\n|\r\r/.exec(text);
  return match ? { at: match.index, length: match[0].length } : undefined;
}
