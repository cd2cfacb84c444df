/**
 * Issue 25's renames: six exported names that meant two different things get one meaning each.
 * Each rename finds its declaration by where it lives and what it is, not by line number, so it
 * can be run again after other branches have moved code around, and renames it with TypeScript's
 * own rename (every reference, import and re-export in src/, test/, bench/ and web/: the files of
 * tsconfig.test.json). A declaration already renamed has the imports of its old name that other
 * branches brought in renamed instead (with their uses in that file); one not found at all is
 * skipped and said so; one found twice stops the script.
 *
 *   node --import tsx tools/rename_i25.ts           rename, and list what changed
 *   node --import tsx tools/rename_i25.ts --dry     list only
 *
 * Then: npx tsc -p tsconfig.test.json (a name that collides with another in some file fails there).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

interface Rename {
  from: string;
  to: string;
  /** Which of the declarations named `from` this is: the one whose file and text match. */
  where: (file: string, text: string) => boolean;
  why: string;
}

export const RENAMES: Rename[] = [
  {
    from: 'ModelKind',
    to: 'ModelChoice',
    where: (f) => f.startsWith('src/config/'),
    why: "the config key `model`'s choices (knn included); models/model.ts's ModelKind stays: a model spec's kind, exported by the library",
  },
  {
    from: 'TrainOptions',
    to: 'LoopOptions',
    where: (f) => f.startsWith('src/train/'),
    why: "the training loop's schedule (lr, batch size, iterations, update rule); index.ts's TrainOptions stays: the library's train() options",
  },
  {
    from: 'predict',
    to: 'predictClasses',
    where: (f) => f.startsWith('src/models/'),
    why: "a model's class per row of preprocessed X; predict/predict.ts's predict stays: the library's, raw pixels to class probabilities",
  },
  {
    from: 'gatherRows',
    to: 'takeRows',
    where: (f) => f.startsWith('src/data/'),
    why: "fresh copies of rows of a split (numpy's take); linalg/blas1.ts's gatherRows stays: the engine's gather into a reused buffer, as Engine.gatherRows",
  },
  {
    from: 'wasm',
    to: 'webAssembly',
    where: (f, text) => f.startsWith('src/linalg/') && text.includes('WebAssembly') && !text.includes('EngineDescriptor'),
    why: "the WebAssembly API object; engines/wasm.ts's wasm stays: the engine descriptor, named like every other engine's",
  },
  {
    from: 'Block',
    to: 'PageBlock',
    where: (f) => f.startsWith('src/report/'),
    why: "one block of a report page; linalg/engines/cuts.ts's Block stays: a block of a matrix product",
  },
];

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** A language service over tsconfig.test.json whose files can be edited in memory between renames. */
function languageService(): { service: ts.LanguageService; files: Files } {
  const cfgFile = path.join(ROOT, 'tsconfig.test.json');
  const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(cfgFile, ts.sys.readFile).config, ts.sys, ROOT);
  const files = new Map(cfg.fileNames.map((f) => [path.resolve(f), { text: fs.readFileSync(f, 'utf8'), version: 0 }]));
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [...files.keys()],
    getScriptVersion: (f) => String(files.get(path.resolve(f))?.version ?? 0),
    getScriptSnapshot: (f) => {
      const known = files.get(path.resolve(f));
      const text = known ? known.text : ts.sys.readFile(f);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => ROOT,
    getCompilationSettings: () => cfg.options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return { service: ts.createLanguageService(host, ts.createDocumentRegistry()), files };
}

/** The exported top-level declarations named `name`: their file (relative), the position of the name, and the declaration's text. */
function declarationsOf(service: ts.LanguageService, files: Map<string, unknown>, name: string): { file: string; abs: string; pos: number; text: string }[] {
  const program = service.getProgram()!;
  const out: { file: string; abs: string; pos: number; text: string }[] = [];
  for (const abs of files.keys()) {
    const sf = program.getSourceFile(abs);
    if (!sf) continue;
    for (const st of sf.statements) {
      const exported = ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) continue;
      const names: ts.Identifier[] = [];
      if ((ts.isFunctionDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isClassDeclaration(st)) && st.name) names.push(st.name);
      if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name);
      for (const id of names) if (id.text === name) out.push({ file: path.relative(ROOT, abs), abs, pos: id.getStart(sf), text: st.getText(sf) });
    }
  }
  return out;
}

type Files = Map<string, { text: string; version: number }>;

/** Replace the text at `locs` (all in file `abs`) by `to`, on disk and in the service's copy. */
function applyEdits(files: Files, abs: string, locs: readonly { textSpan: ts.TextSpan; prefixText?: string; suffixText?: string }[], to: string): void {
  const f = files.get(path.resolve(abs))!;
  let text = f.text;
  for (const l of [...locs].sort((a, b) => b.textSpan.start - a.textSpan.start)) {
    text = text.slice(0, l.textSpan.start) + (l.prefixText ?? '') + to + (l.suffixText ?? '') + text.slice(l.textSpan.start + l.textSpan.length);
  }
  f.text = text;
  f.version++;
  fs.writeFileSync(abs, text);
}

/**
 * After a merge, code from another branch may still import the old name from the module that
 * now declares the new one: each such import (and re-export) is renamed, with its uses in that
 * file. Returns how many files changed.
 */
function fixImportsOfOldName(service: ts.LanguageService, files: Files, r: Rename, declFile: string, dry: boolean): number {
  const program = service.getProgram()!;
  const options = program.getCompilerOptions();
  const hits: { abs: string; spec: ts.ImportSpecifier | ts.ExportSpecifier; sf: ts.SourceFile }[] = [];
  for (const abs of files.keys()) {
    const sf = program.getSourceFile(abs);
    if (!sf) continue;
    for (const st of sf.statements) {
      const isImport = ts.isImportDeclaration(st) && st.importClause?.namedBindings && ts.isNamedImports(st.importClause.namedBindings);
      const isExport = ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause);
      if (!isImport && !isExport) continue;
      const spec = (st as ts.ImportDeclaration | ts.ExportDeclaration).moduleSpecifier;
      if (!spec || !ts.isStringLiteral(spec)) continue;
      const target = ts.resolveModuleName(spec.text, abs, options, ts.sys).resolvedModule?.resolvedFileName;
      if (!target || path.resolve(target) !== path.resolve(ROOT, declFile)) continue;
      const elements = isImport ? ((st as ts.ImportDeclaration).importClause!.namedBindings as ts.NamedImports).elements : ((st as ts.ExportDeclaration).exportClause as ts.NamedExports).elements;
      for (const e of elements) if ((e.propertyName ?? e.name).getText(sf) === r.from) hits.push({ abs, spec: e, sf });
    }
  }
  const changed = new Set<string>();
  for (const { abs, spec, sf } of hits.reverse()) {
    console.log(`  ${path.relative(ROOT, abs)}: ${spec.getText(sf)} (from ${declFile}) → ${r.to}`);
    changed.add(abs);
    if (dry) continue;
    if (spec.propertyName) {
      applyEdits(files, abs, [{ textSpan: { start: spec.propertyName.getStart(sf), length: spec.propertyName.getWidth(sf) } }], r.to);
    } else {
      // `import { old }`: the local name and its uses in this file (the import resolves to nothing, so nothing else is found).
      const locs = (service.findRenameLocations(abs, spec.name.getStart(sf), false, false, { providePrefixAndSuffixTextForRename: false }) ?? []).filter((l) => path.resolve(l.fileName) === path.resolve(abs));
      applyEdits(files, abs, locs, r.to);
    }
  }
  return changed.size;
}

function main(): void {
  const dry = process.argv.includes('--dry');
  const { service, files } = languageService();
  for (const r of RENAMES) {
    const found = declarationsOf(service, files, r.from).filter((d) => r.where(d.file, d.text));
    if (found.length === 0) {
      const renamed = declarationsOf(service, files, r.to).filter((d) => r.where(d.file, d.text));
      if (renamed.length !== 1) {
        console.log(`${r.from} → ${r.to}: no such declaration, skipped`);
        continue;
      }
      const n = fixImportsOfOldName(service, files, r, renamed[0].file, dry);
      console.log(`${r.from} → ${r.to}: already ${r.to} in ${renamed[0].file}; ${n} file(s) still importing ${r.from} from it`);
      continue;
    }
    if (found.length > 1) throw new Error(`${r.from}: ${found.length} declarations match (${found.map((d) => d.file).join(', ')}); make its \`where\` narrower`);
    const [d] = found;
    const locs = service.findRenameLocations(d.abs, d.pos, false, false, { providePrefixAndSuffixTextForRename: false }) ?? [];
    const byFile = new Map<string, ts.RenameLocation[]>();
    for (const l of locs) byFile.set(l.fileName, [...(byFile.get(l.fileName) ?? []), l]);
    console.log(`${r.from} (${d.file}) → ${r.to}: ${locs.length} places in ${byFile.size} files: ${[...byFile.keys()].map((f) => path.relative(ROOT, f)).join(' ')}`);
    if (dry) continue;
    for (const [abs, ls] of byFile) applyEdits(files, abs, ls, r.to);
  }
}

main();
