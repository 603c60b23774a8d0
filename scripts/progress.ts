/** A one-line progress bar on stderr with the time left (redrawn in place on a terminal, a line per 10 % otherwise). */
export function progressBar(label: string, width = 30): (done: number, total: number) => void {
  const started = Date.now();
  let lastDecile = -1;
  return (done, total) => {
    const fraction = total > 0 ? done / total : 1;
    const filled = Math.round(fraction * width);
    const elapsed = (Date.now() - started) / 1000;
    // The time left at the pace so far: a guess, and only once something is done.
    const eta = done > 0 && done < total ? `, ETA ${Math.round((elapsed * (total - done)) / done)} s` : '';
    const text = `${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} ${(fraction * 100).toFixed(0)} % ${elapsed.toFixed(1)} s${eta}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${text}${done >= total ? '\n' : ''}`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${text}\n`);
      }
    }
  };
}
