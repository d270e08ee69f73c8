/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (pipes and logs get the final lines
 * only). Lines printed while a bar is shown go through `note`, which ends the bar's line first.
 */
export interface ProgressBar {
  /** Draws `percent` (0-100) with a label after it, e.g. "uploading 12.0/40.0 MB". */
  update(percent: number, label?: string): void;
  /** Prints a line above the bar. */
  note(line: string): void;
  /** Ends the bar's line (full when `complete`). */
  end(complete: boolean): void;
}

const WIDTH = 25;

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true;
  let shown = "";
  const draw = (percent: number, label: string) => {
    const p = Math.floor(Math.max(0, Math.min(100, percent)));
    const line = `\r[${"#".repeat(Math.round((p * WIDTH) / 100)).padEnd(WIDTH, " ")}] ${String(p).padStart(3)}%${label ? ` ${label}` : ""}`;
    if (line === shown) return;
    // Pads over what a longer previous label left.
    stream.write(line.padEnd(shown.length, " "));
    shown = line;
  };
  return {
    update(percent, label = "") {
      if (tty) draw(percent, label);
    },
    note(line) {
      if (tty && shown) {
        stream.write("\n");
        shown = "";
      }
      stream.write(`${line}\n`);
    },
    end(complete) {
      if (!tty || !shown) return;
      if (complete) draw(100, "");
      stream.write("\n");
      shown = "";
    },
  };
}
