// Drives the Vercel emulator with the official @vercel/sdk and fails on any response the
// SDK cannot validate.
//
// The SDK's zod schemas are lenient: they silently coerce a null in a non-nullable field
// or a string where a number belongs, and only count it as "unrecognized". So after each
// call this script re-parses the raw body with the same schema while counting those
// coercions, and fails if there was any: the emulator must answer exactly to schema.
//
// Input (environment): VERCEL_SDK_DIR (the @vercel/sdk package directory), SERVER_URL,
// VERCEL_TOKEN, TEAM_ID, PROJECT_ID. Output: one JSON object on stdout with what each
// call returned, for the Python test to check against the emulator's state.

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
const schemas = {
  list: (await load("models/filterprojectenvsop.js")).FilterProjectEnvsResponseBody$inboundSchema,
  create: (await load("models/createprojectenvop.js")).CreateProjectEnvResponseBody$inboundSchema,
  edit: (await load("models/editprojectenvop.js")).EditProjectEnvResponseBody$inboundSchema,
  getOne: (await load("models/getprojectenvop.js")).GetProjectEnvResponseBody$inboundSchema,
  remove: (await load("models/removeprojectenvop.js")).RemoveProjectEnvResponseBody$inboundSchema,
  batch: (await load("models/batchremoveprojectenvop.js"))
    .BatchRemoveProjectEnvResponseBody$inboundSchema,
  project: (await load("models/getprojectresponsebody.js")).GetProjectResponseBody$inboundSchema,
};

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
const teamId = env("TEAM_ID");
const idOrName = env("PROJECT_ID");

async function strictly(label, schema, call) {
  const result = await call();
  const counter = startCountingUnrecognized();
  schema.parse(JSON.parse(lastBody));
  const coerced = counter.end();
  if (coerced !== 0) {
    throw new Error(`${label}: ${coerced} field(s) did not match the SDK schema: ${lastBody}`);
  }
  return result;
}

const out = {};

const project = await strictly("getProject", schemas.project, () =>
  vercel.projects.getProject({ idOrName, teamId }));
out.project = { id: project.id, name: project.name, accountId: project.accountId };

const before = await strictly("filterProjectEnvs", schemas.list, () =>
  vercel.projects.filterProjectEnvs({ idOrName, teamId }));
out.keysBefore = before.envs.map((e) => e.key);

const created = await strictly("createProjectEnv", schemas.create, () =>
  vercel.projects.createProjectEnv({
    idOrName,
    teamId,
    upsert: "true",
    requestBody: [
      { key: "SDK_ENC", value: "enc-1", type: "encrypted", target: ["production", "preview"] },
      { key: "SDK_SENS", value: "sens-1", type: "sensitive", target: ["production"] },
      { key: "SDK_PLAIN", value: "plain-1", type: "plain", target: ["development"],
        comment: "made by the sdk" },
    ],
  }));
out.created = created.created.map((e) => ({ id: e.id, key: e.key, type: e.type }));
out.failedOnCreate = created.failed.length;
const idOf = (key) => out.created.find((e) => e.key === key).id;

const upserted = await strictly("createProjectEnv upsert", schemas.create, () =>
  vercel.projects.createProjectEnv({
    idOrName,
    teamId,
    upsert: "true",
    requestBody: [
      { key: "SDK_ENC", value: "enc-2", type: "encrypted", target: ["preview", "production"] },
    ],
  }));
out.upsertedId = upserted.created[0].id;

try {
  await vercel.projects.createProjectEnv({
    idOrName,
    teamId,
    requestBody: { key: "SDK_ENC", value: "dup", type: "encrypted",
                   target: ["production", "preview"] },
  });
  out.duplicate = { status: 0 };
} catch (err) {
  out.duplicate = { status: err.statusCode, code: JSON.parse(err.body).error.code };
}

const edited = await strictly("editProjectEnv", schemas.edit, () =>
  vercel.projects.editProjectEnv({
    idOrName,
    id: idOf("SDK_PLAIN"),
    teamId,
    requestBody: { value: "plain-2", comment: "edited by the sdk" },
  }));
out.edited = { id: edited.id, value: edited.value, comment: edited.comment };

const encrypted = await strictly("getProjectEnv encrypted", schemas.getOne, () =>
  vercel.projects.getProjectEnv({ idOrName, id: idOf("SDK_ENC"), teamId }));
out.getEncrypted = { value: encrypted.value, decrypted: encrypted.decrypted };

const sensitive = await strictly("getProjectEnv sensitive", schemas.getOne, () =>
  vercel.projects.getProjectEnv({ idOrName, id: idOf("SDK_SENS"), teamId }));
out.getSensitive = { hasValue: "value" in sensitive, decrypted: sensitive.decrypted };

const listed = await strictly("filterProjectEnvs after", schemas.list, () =>
  vercel.projects.filterProjectEnvs({ idOrName, teamId }));
out.listedValues = Object.fromEntries(listed.envs.map((e) => [e.key, e.value]));

const removed = await strictly("removeProjectEnv", schemas.remove, () =>
  vercel.projects.removeProjectEnv({ idOrName, id: idOf("SDK_SENS"), teamId }));
out.removed = { id: removed.id, key: removed.key };

const batch = await strictly("batchRemoveProjectEnv", schemas.batch, () =>
  vercel.projects.batchRemoveProjectEnv({
    idOrName,
    teamId,
    requestBody: { ids: [idOf("SDK_PLAIN")] },
  }));
out.batch = { deleted: batch.deleted, ids: batch.ids };

process.stdout.write(JSON.stringify(out));
