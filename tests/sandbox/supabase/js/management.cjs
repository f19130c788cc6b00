// Drives supabase-management-js against the sandbox and prints what it saw as JSON.
// Inputs (env): SANDBOX_URL, SUPABASE_ACCESS_TOKEN, PROJECT_REF. NODE_PATH must point at
// tests/conformance/clients/node_modules.
"use strict";

const { SupabaseManagementAPI } = require("supabase-management-js");

async function main() {
  const ref = process.env.PROJECT_REF;
  const api = new SupabaseManagementAPI({
    accessToken: process.env.SUPABASE_ACCESS_TOKEN,
    baseUrl: process.env.SANDBOX_URL,
  });
  const out = {};

  const projects = await api.listAllProjects();
  out.projectRefs = projects.data.map((p) => p.ref).sort();

  const before = await api.getAuthServiceConfig(ref);
  out.jwtExpBefore = before.data.jwt_exp;

  const updated = await api.updateAuthServiceConfig(ref, {
    jwt_exp: 1800,
    external_google_enabled: true,
    external_google_client_id: "google-client",
    external_google_secret: "google-secret",
  });
  out.updateStatus = updated.status;
  out.jwtExpAfter = updated.data.jwt_exp;
  out.googleSecretRead = updated.data.external_google_secret;

  const keys = await api.getProjectApiKeys(ref, { reveal: false });
  out.keys = keys.data.map((k) => ({ name: k.name, type: k.type, api_key: k.api_key }));

  const query = await api.runAQuery(ref, {
    query: "select label from public.tags order by label",
  });
  out.queryStatus = query.status;
  out.rows = query.data;

  try {
    await api.runAQuery(ref, { query: "select * from no_such_table" });
    out.queryError = null;
  } catch (error) {
    out.queryError = { status: error.status, message: error.message };
  }

  const unauthorized = new SupabaseManagementAPI({
    accessToken: "sbp_" + "0".repeat(40),
    baseUrl: process.env.SANDBOX_URL,
  });
  try {
    await unauthorized.getAuthServiceConfig(ref);
    out.unauthorized = null;
  } catch (error) {
    out.unauthorized = { status: error.status, message: error.message };
  }

  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
