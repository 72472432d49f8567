/**
 * Byte-exact reproduction of kubefwd's log line format: logrus TextFormatter with ForceColors,
 * FullTimestamp and TimestampFormat "15:04:05" (logrus v1.8.1/v1.9.4 printColored):
 * `ESC[<c>m<LVL4>ESC[0m[HH:MM:SS] <message padded to 44 runes> \n`, one trailing newline of the message
 * trimmed first. Shared by the simulator and the parser tests so both agree on one definition.
 */

/** logrus levels kubefwd uses, as the 4-letter text. */
export type LogrusLevel = "INFO" | "WARN" | "ERRO" | "FATA" | "DEBU";

/** logrus colour per level: blue 36, yellow 33, red 31, gray 37. */
export const LEVEL_COLOR: Record<LogrusLevel, number> = { INFO: 36, WARN: 33, ERRO: 31, FATA: 31, DEBU: 37 };

/** Local wall time as Go's "15:04:05". */
export function clockText(d: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Go `%-44s`: pads to 44 runes (code points), never truncates. */
export function padRunes(s: string, width = 44): string {
  const runes = [...s].length;
  return runes >= width ? s : s + " ".repeat(width - runes);
}

/** One complete logrus output line (with its final "\n"). */
export function formatLogrusLine(level: LogrusLevel, message: string, when: Date = new Date()): string {
  const msg = message.endsWith("\n") ? message.slice(0, -1) : message;
  return `\x1b[${LEVEL_COLOR[level]}m${level}\x1b[0m[${clockText(when)}] ${padRunes(msg)} \n`;
}
