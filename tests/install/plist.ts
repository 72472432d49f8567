/**
 * A small, strict reader of XML property lists (plutil does not exist on Linux): the XML must be well formed
 * (every tag closed in order, only the five predefined entities), the root is `<plist version="1.0">` with one
 * value, and values are dict / array / string / integer / real / true / false / date / data. Anything else
 * throws, so a test that parses a generated plist also proves it is valid.
 */

/** A parsed plist value. */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

interface Node {
  tag: string;
  attrs: string;
  children: Node[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescape(text: string): string {
  return text.replace(/&([a-z]+|#[0-9]+|#x[0-9a-fA-F]+);|&/g, (m, name?: string) => {
    if (!name) throw new Error("a bare & in XML text");
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    const v = ENTITIES[name];
    if (v === undefined) throw new Error(`unknown XML entity ${m}`);
    return v;
  });
}

function parseXml(xml: string): Node {
  let i = 0;
  const root: Node = { tag: "#root", attrs: "", children: [], text: "" };
  const stack: Node[] = [root];
  while (i < xml.length) {
    if (xml.startsWith("<?", i)) {
      const end = xml.indexOf("?>", i);
      if (end < 0) throw new Error("unterminated <?");
      i = end + 2;
    } else if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i);
      if (end < 0) throw new Error("unterminated comment");
      if (xml.slice(i + 4, end).includes("--")) throw new Error("'--' inside an XML comment");
      i = end + 3;
    } else if (xml.startsWith("<!DOCTYPE", i)) {
      const end = xml.indexOf(">", i);
      i = end + 1;
    } else if (xml[i] === "<") {
      const end = xml.indexOf(">", i);
      if (end < 0) throw new Error("unterminated tag");
      const body = xml.slice(i + 1, end);
      i = end + 1;
      if (body.startsWith("/")) {
        const open = stack.pop();
        if (!open || open.tag !== body.slice(1).trim()) {
          throw new Error(`</${body.slice(1)}> does not close <${open?.tag}>`);
        }
        continue;
      }
      const selfClosing = body.endsWith("/");
      const m = (selfClosing ? body.slice(0, -1) : body).match(/^([A-Za-z][\w.-]*)(\s[^]*)?$/);
      if (!m) throw new Error(`bad tag <${body}>`);
      const node: Node = { tag: m[1], attrs: (m[2] ?? "").trim(), children: [], text: "" };
      stack[stack.length - 1].children.push(node);
      if (!selfClosing) stack.push(node);
    } else {
      const next = xml.indexOf("<", i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      i = next < 0 ? xml.length : next;
      const top = stack[stack.length - 1];
      if (top === root && text.trim() !== "") throw new Error("text outside the root element");
      top.text += unescape(text);
    }
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1].tag}> is not closed`);
  return root;
}

function value(node: Node): PlistValue {
  switch (node.tag) {
    case "string":
      return node.text;
    case "integer":
      if (!/^-?\d+$/.test(node.text.trim())) throw new Error(`bad <integer>${node.text}`);
      return Number(node.text);
    case "real":
      return Number(node.text);
    case "true":
    case "false":
      if (node.children.length || node.text.trim()) throw new Error(`<${node.tag}/> must be empty`);
      return node.tag === "true";
    case "date":
    case "data":
      return node.text.trim();
    case "array":
      return node.children.map(value);
    case "dict": {
      const out: Record<string, PlistValue> = {};
      const kids = node.children;
      if (kids.length % 2 !== 0) throw new Error("a <dict> needs key/value pairs");
      for (let k = 0; k < kids.length; k += 2) {
        if (kids[k].tag !== "key") throw new Error(`expected <key> in <dict>, got <${kids[k].tag}>`);
        if (kids[k].text in out) throw new Error(`duplicate key ${kids[k].text}`);
        out[kids[k].text] = value(kids[k + 1]);
      }
      return out;
    }
    default:
      throw new Error(`<${node.tag}> is not a plist value`);
  }
}

/** Parse an XML property list; throws on anything that is not one. */
export function parsePlist(xml: string): PlistValue {
  if (!xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')) throw new Error("no XML declaration");
  const root = parseXml(xml);
  if (root.children.length !== 1 || root.children[0].tag !== "plist") {
    throw new Error("the root is not <plist>");
  }
  const plist = root.children[0];
  if (!/version="1\.0"/.test(plist.attrs)) throw new Error('<plist> without version="1.0"');
  if (plist.children.length !== 1) throw new Error("<plist> must hold exactly one value");
  return value(plist.children[0]);
}
