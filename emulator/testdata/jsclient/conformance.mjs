// conformance.mjs drives the Cognito emulator with the AWS SDK for JavaScript v3, a client
// nobody here wrote: it links, meets the repeat answer, reads the link back from the
// identities attribute, unlinks, checks error answers, pages through the users with the
// SDK's paginator, adds a user to a group and lists its groups, and signs a user out. emulator/jsclient_test.go runs it
// against an in-process emulator loaded with emulator/testdata/seed.json:
//
//   EMULATOR_URL=http://127.0.0.1:PORT node conformance.mjs
//
// It prints one line per check and exits non-zero at the first that fails.
import assert from "node:assert/strict";
import {
  AdminAddUserToGroupCommand,
  AdminDisableProviderForUserCommand,
  AdminGetUserCommand,
  AdminLinkProviderForUserCommand,
  AdminListGroupsForUserCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  DescribeIdentityProviderCommand,
  InvalidParameterException,
  ListUsersCommand,
  UserNotFoundException,
  paginateListUsers,
} from "@aws-sdk/client-cognito-identity-provider";

const endpoint = process.env.EMULATOR_URL;
if (!endpoint) {
  console.error("conformance: set EMULATOR_URL to the emulator's URL");
  process.exit(2);
}
const pool = "us-east-1_Example1";
const client = new CognitoIdentityProviderClient({
  region: "us-east-1",
  endpoint,
  credentials: { accessKeyId: "AKIAJSCLIENT", secretAccessKey: "secret" },
  maxAttempts: 1, // every answer reaches the checks
});

const source = { ProviderName: "Google", ProviderAttributeName: "Cognito_Subject", ProviderAttributeValue: "g-js" };
const link = new AdminLinkProviderForUserCommand({
  UserPoolId: pool,
  DestinationUser: { ProviderName: "Cognito", ProviderAttributeValue: "alice" },
  SourceUser: source,
});

// identities reads a user's identities attribute.
async function identities(username) {
  const out = await client.send(new AdminGetUserCommand({ UserPoolId: pool, Username: username }));
  assert.equal(out.Username, username);
  assert.ok(out.UserCreateDate instanceof Date, "UserCreateDate is a Date");
  const attr = out.UserAttributes.find((a) => a.Name === "identities");
  return attr ? JSON.parse(attr.Value) : [];
}

// rejects checks that a call fails with an error of the given class, code, message and status.
async function rejects(command, type, code, message, status) {
  try {
    await client.send(command);
  } catch (err) {
    assert.ok(err instanceof type, `${err.name} is a ${type.name}`);
    assert.equal(err.name, code);
    if (message) assert.equal(err.message, message);
    assert.equal(err.$metadata.httpStatusCode, status);
    assert.match(err.$metadata.requestId, /^[0-9a-f-]{36}$/);
    return;
  }
  assert.fail(`${command.constructor.name} succeeded, want ${code}`);
}

const checks = [
  ["link", async () => {
    const out = await client.send(link);
    assert.equal(out.$metadata.httpStatusCode, 200);
  }],
  ["the same link again", () =>
    rejects(link, InvalidParameterException, "InvalidParameterException", "SourceUser is already linked to DestinationUser", 400)],
  ["read the link back", async () => {
    const ids = await identities("alice");
    assert.equal(ids.length, 1);
    assert.equal(ids[0].userId, "g-js");
    assert.equal(ids[0].providerName, "Google");
    assert.equal(ids[0].providerType, "Google");
    assert.equal(ids[0].primary, false);
    assert.ok(Math.abs(ids[0].dateCreated - Date.now()) < 60_000, "dateCreated is now");
  }],
  ["unlink", async () => {
    await client.send(new AdminDisableProviderForUserCommand({ UserPoolId: pool, User: source }));
    assert.deepEqual(await identities("alice"), []);
  }],
  ["unlink again", () =>
    rejects(new AdminDisableProviderForUserCommand({ UserPoolId: pool, User: source }), InvalidParameterException,
      "InvalidParameterException", "Account isn't linked to anyone else, verify that the account has been linked", 400)],
  ["a user that does not exist", () =>
    rejects(new AdminGetUserCommand({ UserPoolId: pool, Username: "nobody" }), UserNotFoundException,
      "UserNotFoundException", "User does not exist.", 404)],
  ["an attribute mapping", async () => {
    const out = await client.send(new DescribeIdentityProviderCommand({ UserPoolId: pool, ProviderName: "Okta" }));
    assert.equal(out.IdentityProvider.ProviderType, "SAML");
    assert.deepEqual(out.IdentityProvider.AttributeMapping, {
      email: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    });
  }],
  ["page through the users", async () => {
    const names = [];
    for await (const page of paginateListUsers({ client, pageSize: 2 }, { UserPoolId: pool })) {
      names.push(...page.Users.map((u) => u.Username));
    }
    assert.deepEqual(names, ["Google_1234", "alice", "bob", "carol", "dave"]);
  }],
  ["a filter, whatever the case of an email", async () => {
    const out = await client.send(new ListUsersCommand({ UserPoolId: pool, Filter: 'email = "BOB@example.com"', AttributesToGet: ["email"] }));
    assert.deepEqual(out.Users.map((u) => [u.Username, u.Enabled, u.UserStatus, u.Attributes]),
      [["bob", true, "CONFIRMED", [{ Name: "email", Value: "bob@example.com" }]]]);
  }],
  ["add to a group, list the groups", async () => {
    await client.send(new AdminAddUserToGroupCommand({ UserPoolId: pool, Username: "alice", GroupName: "staff" }));
    const out = await client.send(new AdminListGroupsForUserCommand({ UserPoolId: pool, Username: "alice" }));
    assert.equal(out.Groups.length, 1);
    assert.equal(out.Groups[0].GroupName, "staff");
    assert.equal(out.Groups[0].Precedence, 10);
    assert.ok(out.Groups[0].CreationDate instanceof Date, "CreationDate is a Date");
  }],
  ["sign a user out", async () => {
    const out = await client.send(new AdminUserGlobalSignOutCommand({ UserPoolId: pool, Username: "Google_1234" }));
    assert.equal(out.$metadata.httpStatusCode, 200);
  }],
];

for (const [name, check] of checks) {
  try {
    await check();
  } catch (err) {
    console.error(`FAIL ${name}: ${err.stack ?? err}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}
console.log(`conformance: ${checks.length} checks passed`);
