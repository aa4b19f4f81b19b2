// ESLint flat config (issue 16, decision 032): typescript-eslint's recommended rules, not type-aware
// (type-aware linting re-runs the type checker that `tsc --noEmit` already runs in `npm test`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'dist/', 'coverage/', 'test/fixtures/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        __filename: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        AbortController: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setImmediate: 'readonly',
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The control characters are the point: inputs, CLI output and the HTML report refuse or strip them (docs/security.md).
      'no-control-regex': 'off',
      // Two spaces in a pattern match the two-space columns the CLI prints; `{2}` would hide that.
      'no-regex-spaces': 'off',
      // `const { dropped, ...rest } = x` and `_`-named placeholders are how the code leaves a field or argument out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A `let` that a closure reads before its one assignment (deps wired before the engine exists) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `self`/`chaos` carry the instance into `function` callbacks that get their own `this` (the ASL engine, SDK middleware).
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self', 'chaos'] }],
      // Packages without types or loaded lazily (a browser only when a test renders the report) are required.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^dynalite$', '^asl-validator$', '^playwright-core$'] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'drivers/**/*.test.ts'],
    rules: {
      // Tests build malformed events, configs and SDK responses on purpose; `any` is how they get past the types.
      '@typescript-eslint/no-explicit-any': 'off',
      // A test that replaces an unexpected error with a message saying what it expected reports that message, not a chain.
      'preserve-caught-error': 'off',
      // A test initialises what a try block may not reach, so the assertion after it reads a defined value.
      'no-useless-assignment': 'off',
    },
  },
  {
    // Plain CommonJS entry points and scripts.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
