// The graphql-http audit (GraphQL over HTTP spec) against a running orghub:
//   node scripts/graphql-http/audit.mjs http://127.0.0.1:8080/graphql
// Prints every result; exits non-zero when a MUST requirement fails.
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <graphql url>");
  process.exit(2);
}
const results = await auditServer({ url });
let mustFailures = 0;
for (const r of results) {
  const line = `${r.status.padEnd(7)} ${r.name}`;
  if (r.status !== "ok") {
    console.log(`${line}: ${r.reason}`);
    if (r.name.startsWith("MUST")) mustFailures += 1;
  } else {
    console.log(line);
  }
}
const count = (s) => results.filter((r) => r.status === s).length;
console.log(`\n${count("ok")} ok, ${count("warn")} warnings, ${count("error")} errors; MUST failures: ${mustFailures}`);
process.exit(mustFailures > 0 ? 1 : 0);
