// Lists the team's projects with the official @vercel/sdk (`projects.getProjects`), one
// project per page, following `pagination.next` as `from`, and fails on any response the
// SDK cannot validate strictly (see sdk_env_roundtrip.mjs for why the re-parse).
//
// Input (environment): VERCEL_SDK_DIR, SERVER_URL, VERCEL_TOKEN, TEAM_ID, TEAM_SLUG.
// Output: one JSON object on stdout: the pages walked by team id, the names listed by
// slug, and the status of a request with a limit over the maximum.

import path from "node:path";
import { pathToFileURL } from "node:url";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};

const sdkDir = env("VERCEL_SDK_DIR");
const load = (rel) => import(pathToFileURL(path.join(sdkDir, "esm", rel)).href);

const { Vercel } = await load("index.js");
const { HTTPClient } = await load("lib/http.js");
const { startCountingUnrecognized } = await load("types/unrecognized.js");
const { GetProjectsResponseBody$inboundSchema: schema } =
  await load("models/getprojectsresponsebody.js");

let lastBody = null;
const httpClient = new HTTPClient();
httpClient.addHook("response", async (res) => {
  lastBody = await res.clone().text();
});

const vercel = new Vercel({
  bearerToken: env("VERCEL_TOKEN"),
  serverURL: env("SERVER_URL"),
  httpClient,
  retryConfig: { strategy: "none" },
});

async function getProjects(request) {
  const result = await vercel.projects.getProjects(request);
  const counter = startCountingUnrecognized();
  schema.parse(JSON.parse(lastBody));
  const coerced = counter.end();
  if (coerced !== 0) {
    throw new Error(`getProjects: ${coerced} field(s) did not match the SDK schema: ${lastBody}`);
  }
  return result;
}

const out = { pages: [] };
let from;
for (let i = 0; i < 10; i += 1) {
  const page = await getProjects({ teamId: env("TEAM_ID"), limit: "1", from });
  out.pages.push({ names: page.projects.map((p) => p.name), pagination: page.pagination });
  if (page.pagination.next === null) break;
  from = String(page.pagination.next);
}

const bySlug = await getProjects({ slug: env("TEAM_SLUG") });
out.bySlug = bySlug.projects.map((p) => p.name);

try {
  await vercel.projects.getProjects({ teamId: env("TEAM_ID"), limit: "101" });
  out.overLimit = { status: 200 };
} catch (err) {
  out.overLimit = { status: err.statusCode, code: JSON.parse(err.body).error.code };
}

process.stdout.write(JSON.stringify(out));
