// Architecture rules of docs/development.md, checked by `npm run lint` (dependency-cruiser). A violation fails
// lint and so CI. Tests (test/) may import anything; these rules say what src/ and workers/ may not.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles (type-only imports included): a cycle makes load order matter and layers blur.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-workers',
      severity: 'error',
      comment: 'Workers import from src/, never the reverse: src/ runs in the API process, which loads no worker.',
      from: { path: '^src/' },
      to: { path: '^workers/' },
    },
    {
      name: 'core-not-to-frameworks',
      severity: 'error',
      comment:
        'Core knows no Express, BullMQ, ioredis or PostgreSQL driver: it declares the ports it needs. ' +
        'Type-only imports of pg (the Pool type its services are given) are allowed: they vanish when compiled.',
      from: { path: '^src/core/' },
      to: { path: 'node_modules/(express|bullmq|ioredis|pg)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-not-to-frameworks-types',
      severity: 'error',
      comment: 'Core does not even name the types of Express, BullMQ or ioredis (pg types are allowed, see above).',
      from: { path: '^src/core/' },
      to: { path: 'node_modules/(express|@types/express|bullmq|ioredis)/' },
    },
    {
      name: 'core-not-to-adapters',
      severity: 'error',
      comment: 'Core imports no adapter: not the HTTP layer (src/http, src/console) nor its errors (src/errors.ts: core throws its own, src/core/errors.ts), mail (src/mail), the job system (src/jobs), src/adapters nor the process wiring.',
      from: { path: '^src/core/' },
      to: { path: '^src/(http|console|cli|mail|jobs|metrics|process|inbound|adapters)/|^src/(app|routes|deps|main|errors)\\.ts$' },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'The service never imports test code.',
      from: { path: '^(src|workers)/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves to a file or an installed package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|outbox|test-artifacts)/' },
    // type-only imports count too: a cycle or a forbidden layer through types is still one
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
