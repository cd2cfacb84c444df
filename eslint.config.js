// The linter CI runs (make lint): promises that are neither awaited nor marked `void`, and function
// lengths: under 100 lines in src/, under 60 in the orchestration folders train/, sweep/ and cli/
// (cs231n's Solver.train is about 60). An exception is a block of its own at the end, one per
// function, naming it and saying why it is longer, with `max` at its present length so it cannot
// grow:
//   // src/x/y.ts f: <why it reads best as one function>
//   { files: ['src/x/y.ts'], rules: { 'max-lines-per-function': maxLines(NN) } },
import tseslint from 'typescript-eslint';

/** Lines from a function's first line to its last, blank lines and comments included (as tools/fnlen.ts counts). */
const maxLines = (max) => ['error', { max, skipBlankLines: false, skipComments: false, IIFEs: true }];

export default tseslint.config(
  { ignores: ['dist/', 'dist-web/', 'node_modules/', 'native/build/', 'data/', 'runs/', 'test-output/'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'web/**/*.ts', 'tools/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test tracks the promises its test() and describe() return; every other one is awaited or marked `void`.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
    },
  },
  { files: ['src/**/*.ts'], rules: { 'max-lines-per-function': maxLines(100) } },
  // Every read is bounded and of a regular file: src/ reads whole files only through src/io/files.ts
  // (readRegularFile/Text, readLogText, readKernelText), which refuse a FIFO, a device or a link to
  // /dev/zero at once, with one line, instead of hanging or filling memory.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/io/files.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['readFileSync', 'readFile'].map((property) => ({
          object: 'fs',
          property,
          message: 'read through src/io/files.ts (readRegularText, readRegularFile, readLogText, readKernelText): bounded, regular files only',
        })),
        { object: 'fsp', property: 'readFile', message: 'read through src/io/files.ts: bounded, regular files only' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^(node:)?fs(\\/promises)?$/] > ImportSpecifier[imported.name=/^readFile(Sync)?$/]',
          message: 'read through src/io/files.ts: bounded, regular files only',
        },
      ],
    },
  },
  { files: ['src/train/**/*.ts', 'src/sweep/**/*.ts', 'src/cli/**/*.ts'], rules: { 'max-lines-per-function': maxLines(60) } },
);
