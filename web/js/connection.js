// The connection to the server's push stream. EventSource reconnects by itself; every
// (re)connection starts with a `snapshot` event, so the page always returns to the full state.

/**
 * @param {string} url
 * @param {{onSnapshot: Function, onUpdate: Function, onState: (state: string) => void}} handlers
 *   state is `connecting`, `live` or `reconnecting`.
 */
export function connect(url, { onSnapshot, onUpdate, onState }) {
  let source = null;
  let retryTimer = null;

  const open = (first) => {
    onState(first ? 'connecting' : 'reconnecting');
    source = new EventSource(url);
    source.addEventListener('snapshot', (event) => {
      onSnapshot(JSON.parse(event.data));
      onState('live');
    });
    source.addEventListener('update', (event) => onUpdate(JSON.parse(event.data)));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. the server answered with an error): try again ourselves.
        source.close();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => open(false), 2000);
      }
      onState('reconnecting');
    });
  };

  open(true);
  return { close: () => { clearTimeout(retryTimer); source?.close(); } };
}
