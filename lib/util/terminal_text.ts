/**
 * Text from kubefwd (and so from whoever controls a cluster's pod names and errors) must not drive the
 * user's terminal: OSC 0 retitles it, OSC 52 writes the clipboard, `ESC c` resets it, a C1 CSI (U+009B)
 * moves the cursor. Human output shows such characters escaped; JSON output keeps the text but never a raw
 * control character.
 */

/** C0 controls except tab, DEL, and the C1 range (U+0080–U+009F). */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** `text` with every control character but tab shown as a visible escape (`\x1b`, `\x9b`, `\n`…). */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** JSON text with DEL, C1 controls and the line separators as `\uXXXX` escapes (JSON.stringify leaves them raw). */
export function jsonWithoutRawControls(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
