/**
 * A TypeScript program over in-memory modules (notebook cells, documentation blocks) type-checked
 * against the library's sources, with `import ... from 'resnet-ts'` resolving to src/index.ts.
 * Used by the notebook type check and the doc tests.
 */
import * as path from 'node:path';
import ts from 'typescript';

/**
 * `files`: absolute path -> module text (the paths need not exist on disk). `extraPaths` adds
 * module mappings (e.g. tslab's types for notebooks).
 */
export function virtualProgram(
  root: string,
  files: Map<string, string>,
  extraPaths: Record<string, string[]> = {},
): ts.Program {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext, // top-level await, as vite-node and tslab allow
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    typeRoots: [path.join(root, 'node_modules', '@types')],
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    noEmit: true,
    baseUrl: root,
    paths: { 'resnet-ts': [path.join(root, 'src', 'index.ts')], ...extraPaths },
  };
  const text = (f: string) => files.get(path.resolve(f));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    const t = text(name);
    return t !== undefined
      ? ts.createSourceFile(name, t, lang, true, ts.ScriptKind.TS)
      : getSourceFile(name, lang, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => text(f) !== undefined || fileExists(f);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => text(f) ?? readFile(f);
  return ts.createProgram({ rootNames: [...files.keys()], options, host });
}
