/**
 * The code blocks of a markdown file, as the doc tests see them (remark-parse, so fences nested in
 * a longer fence or indented in a list are read the way a renderer reads them).
 *
 * Markers: a TypeScript block is run unless it is marked not runnable, with the reason, either in
 * the fence's info string (```` ```ts no-run: needs a GPU ````) or in an HTML comment right before
 * the block (`<!-- no-run: needs a GPU -->`). A no-run block is still type-checked.
 */
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import type { Code, InlineCode, Nodes, Parents } from 'mdast';

export type BlockKind = 'ts' | 'shell' | 'other';

export interface DocBlock {
  /** The markdown file as given (relative to the project root in messages). */
  file: string;
  /** 1-based line of the opening fence; the code starts on the next line. */
  line: number;
  lang: string;
  kind: BlockKind;
  code: string;
  /** The reason from a no-run marker ('' when the marker gives none, which is an error). */
  noRun?: string;
}

export interface InlineCommand {
  file: string;
  line: number;
  text: string;
}

const TS = new Set(['ts', 'typescript']);
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const NO_RUN = /^no-run\b:?\s*(.*)$/s;
const NO_RUN_COMMENT = /^<!--\s*no-run\b:?\s*(.*?)\s*-->$/s;

function kindOf(lang: string): BlockKind {
  return TS.has(lang) ? 'ts' : SHELL.has(lang) ? 'shell' : 'other';
}

export function parseMarkdown(text: string): Nodes {
  return unified().use(remarkParse).parse(text) as Nodes;
}

/** Every fenced or indented code block of `text`, in document order. */
export function extractBlocks(file: string, text: string): DocBlock[] {
  const out: DocBlock[] = [];
  const visit = (node: Nodes, prev?: Nodes) => {
    if (node.type === 'code') {
      const c = node as Code;
      const lang = (c.lang ?? '').toLowerCase();
      const block: DocBlock = { file, line: c.position!.start.line, lang, kind: kindOf(lang), code: c.value };
      const fromMeta = c.meta?.trim().match(NO_RUN);
      const fromComment = prev?.type === 'html' ? prev.value.trim().match(NO_RUN_COMMENT) : null;
      const marker = fromMeta ?? fromComment;
      if (marker) block.noRun = marker[1].trim();
      out.push(block);
      return;
    }
    if ('children' in node) {
      const kids = (node as Parents).children as Nodes[];
      kids.forEach((k, i) => visit(k, kids[i - 1]));
    }
  };
  visit(parseMarkdown(text));
  return out;
}

/** Inline code spans in prose that start with `npm ` (`npm run data`), checked like shell blocks. */
export function extractInlineCommands(file: string, text: string): InlineCommand[] {
  const out: InlineCommand[] = [];
  const visit = (node: Nodes) => {
    if (node.type === 'inlineCode') {
      const c = node as InlineCode;
      if (/^npm\s/.test(c.value)) out.push({ file, line: c.position!.start.line, text: c.value });
      return;
    }
    if ('children' in node) for (const k of (node as Parents).children as Nodes[]) visit(k);
  };
  visit(parseMarkdown(text));
  return out;
}
