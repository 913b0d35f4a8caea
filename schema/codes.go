package schema

// Code is an error_code: a stable, machine-readable name for why a row is invalid or failed,
// or why a run stopped. Cognito's own error codes (InvalidParameterException,
// UserNotFoundException, ...) pass through as they are; the codes below are bulklink's.
type Code = string

// Codes of rows rejected before any call (status invalid), in the order the rules apply: a
// row gets the code of the first rule it breaks, and rows invalid for any reason take no part
// in the later rules.
const (
	// Reading the row.
	UnreadableRow     Code = "UnreadableRow"
	UnterminatedQuote Code = "UnterminatedQuote"
	RecordTooLong     Code = "RecordTooLong"
	// Checking its fields.
	MissingField  Code = "MissingField"
	InvalidValue  Code = "InvalidValue"
	CognitoSource Code = "CognitoSource"
	// Checking it against the pools (docs/trust.md).
	PoolNotFound       Code = "PoolNotFound"
	ProviderNotInPool  Code = "ProviderNotInPool"
	ProviderNotAllowed Code = "ProviderNotAllowed"
	AttributeNotMapped Code = "AttributeNotMapped"
	// Checking it against the rest of the input.
	ConflictingSource Code = "ConflictingSource"
	TooManyIdentities Code = "TooManyIdentities"
	// validate --predict, from reading the users.
	DestinationNotFound   Code = "DestinationNotFound"
	SourceAlreadySignedIn Code = "SourceAlreadySignedIn"
	IdentityLimitReached  Code = "IdentityLimitReached"
)

// Codes of run --merge-signed-in: the refusals before any write of a merge (status invalid),
// and the one failure that leaves an identity unlinked (status failed).
const (
	MergeProfileNotFederated       Code = "MergeProfileNotFederated"
	MergeProfileHasOtherIdentities Code = "MergeProfileHasOtherIdentities"
	MergeEmailMismatch             Code = "MergeEmailMismatch"
	MergeEmailNotVerified          Code = "MergeEmailNotVerified"
	MergeConflict                  Code = "MergeConflict"
	DestinationDisabled            Code = "DestinationDisabled"
	MergeLinkFailedAfterDelete     Code = "MergeLinkFailedAfterDelete"
)

// Codes of undo's rows that it refused to unlink.
const (
	PredatesRun Code = "PredatesRun" // the link is older than the run's report: undo leaves it
)

// Codes of rows that failed without an answer from Cognito to name the cause.
const (
	Timeout         Code = "Timeout"         // the attempt's deadline passed
	ConnectionError Code = "ConnectionError" // the connection failed or closed unanswered
	UnknownError    Code = "UnknownError"    // an answer with no error code
)

// Codes of fatal conditions that stop a run (exit 3) and are not Cognito's.
const (
	CredentialsError Code = "CredentialsError" // no usable AWS credentials
	ConfigError      Code = "ConfigError"      // a call could not be built: region, endpoint
	Unreachable      Code = "Unreachable"      // Cognito did not answer the first read
	FailureThreshold Code = "FailureThreshold" // --max-failures passed
	Outage           Code = "Outage"           // rows in a row ran out of retries
)

// A CodeInfo describes a code for the README.
type CodeInfo struct {
	Code   Code
	Status Status // invalid or failed; "" for a fatal condition
	Doc    string
}

// Codes is the table of bulklink's own codes.
var Codes = [...]CodeInfo{
	{UnreadableRow, Invalid, "the record cannot be read: bad CSV quoting, wrong number of fields, bad JSON, invalid UTF-8, a control character, or an invisible formatting character (zero-width, bidirectional mark, BOM) or unpaired surrogate in a value"},
	{UnterminatedQuote, Invalid, "a CSV quoted field opens on this line and never closes: the rest of the input cannot be split into rows, and none of it is linked"},
	{RecordTooLong, Invalid, "the record is longer than 1 MiB; its bytes are skipped, the rows after it are read as usual"},
	{MissingField, Invalid, "a required field is empty: destination_user, source_provider, source_value, or user_pool_id without --user-pool-id"},
	{InvalidValue, Invalid, "a value Cognito would refuse by its shape: a pool id that is not <region>_<id>, a provider name over 32 characters, source fields over 128 characters together, a report's line that is not a number"},
	{CognitoSource, Invalid, "the source provider is Cognito: a password user can be a destination, never a source"},
	{PoolNotFound, Invalid, "the row's own user_pool_id names no pool (a missing --user-pool-id pool stops the run instead)"},
	{ProviderNotInPool, Invalid, "the source provider is not configured in the row's pool"},
	{ProviderNotAllowed, Invalid, "the source provider is not in --allow-providers"},
	{AttributeNotMapped, Invalid, "a social provider's identity not named by Cognito_Subject, or a SAML/OIDC attribute that is neither Cognito_Subject nor in the provider's attribute mapping"},
	{ConflictingSource, Invalid, "the same source identity is mapped to more than one destination user in the input: none of its rows is linked"},
	{TooManyIdentities, Invalid, "the input gives the destination user more than five identities (Cognito's limit): the rows after the fifth, in input order"},
	{DestinationNotFound, Invalid, "validate --predict: the destination user does not exist"},
	{SourceAlreadySignedIn, Invalid, "validate --predict: the source identity has signed in already (a <Provider>_<value> user exists), so Cognito cannot link it"},
	{SourceAlreadySignedIn, Failed, "run: Cognito answered that the source identity has signed in already (\"Merging is not currently supported\") and reading the user found no link: the identity has a profile of its own, named in the message"},
	{IdentityLimitReached, Invalid, "validate --predict: the identities the user has plus those the input adds exceed five"},
	{MergeProfileNotFederated, Invalid, "run --merge-signed-in: the <Provider>_<id> user is not a federated profile (its status is not EXTERNAL_PROVIDER): it is not deleted"},
	{MergeProfileHasOtherIdentities, Invalid, "run --merge-signed-in: the profile holds identities besides the row's: deleting it would unlink them"},
	{MergeEmailMismatch, Invalid, "run --merge-signed-in: the profile's email and the destination's differ (unless --merge-unverified)"},
	{MergeEmailNotVerified, Invalid, "run --merge-signed-in: the profile's email or the destination's is not verified (unless --merge-unverified)"},
	{MergeConflict, Invalid, "run --merge-signed-in: the profile the row would delete is a user another row (or the row itself) links to"},
	{DestinationDisabled, Invalid, "run --merge-signed-in: the destination user is disabled: the identity would be moved to a user who cannot sign in"},
	{TooManyIdentities, Invalid, "run --merge-signed-in: the destination holds five identities already: the profile is not deleted for a link Cognito would refuse"},
	{MergeLinkFailedAfterDelete, Failed, "run --merge-signed-in: the profile was deleted (its backup is in <report>.merged.jsonl) but the link failed for good: the identity is unlinked, and its next sign-in makes a new profile"},
	{PredatesRun, Failed, "undo: the link was made before the run's report began (Cognito's dateCreated, less the clock skew), whatever the report says: undo removes only what the run made, unless --include-already-linked"},
	{Timeout, Failed, "the last attempt timed out (--timeout)"},
	{ConnectionError, Failed, "the last attempt's connection failed or closed unanswered"},
	{UnknownError, Failed, "an error answer without an error code"},
	{CredentialsError, "", "no usable AWS credentials, or they were refused"},
	{ConfigError, "", "a call could not be made: no region, a bad endpoint"},
	{Unreachable, "", "Cognito did not answer the first read before any write"},
	{FailureThreshold, "", "more rows failed than --max-failures allows"},
	{Outage, "", "many rows in a row ran out of retries on timeouts, connection errors, 5xx or throttling"},
}

// Codes of the candidates bulklink discover refuses: a row each in its refused file, in
// the order the rules apply (a candidate gets the code of the first it breaks). Some are
// also codes of invalid rows, for the same rule (TooManyIdentities, ProviderNotInPool,
// DestinationDisabled, declared with merge's) or the same checks of a row's values
// (UnreadableRow, InvalidValue).
const (
	NoEmail                 Code = "NoEmail"
	NoValue                 Code = "NoValue"
	SubjectUnknown          Code = "SubjectUnknown"
	EmailNotVerified        Code = "EmailNotVerified"
	SourceDisabled          Code = "SourceDisabled"
	AmbiguousEmail          Code = "AmbiguousEmail"
	AmbiguousValue          Code = "AmbiguousValue"
	DestinationNotConfirmed Code = "DestinationNotConfirmed"
	// AlreadyLinkedCode is the code "AlreadyLinked"; AlreadyLinked is the status already_linked.
	AlreadyLinkedCode Code = "AlreadyLinked"
)

// A Refusal describes a code of discover's refused file for the README.
type Refusal struct {
	Code Code
	// Mode is the discover that refuses so: "--provider", "--duplicates", or "" for both.
	Mode string
	Doc  string
}

// Refusals is the table of the codes of discover's refused file, in the order its rules
// apply (docs/discover.md says why each exists).
var Refusals = [...]Refusal{
	{NoEmail, "--provider", "the native user has no email (--by email)"},
	{NoValue, "--provider", "the native user has no value for the --by attribute"},
	{ProviderNotInPool, "--duplicates", "the profile's <Provider>_ prefix names no identity provider of the pool, whatever its case"},
	{SubjectUnknown, "--duplicates", "the profile's subject cannot be read: its identities attribute does not hold its own identity, and the username has lost the subject's case (a case-insensitive pool)"},
	{EmailNotVerified, "", "the profile's or the native user's email_verified is not true (--allow-unverified-email lets it through, with a warning); --provider: only with --by email"},
	{SourceDisabled, "--duplicates", "the profile is disabled: someone blocked that identity, and a link would let it in again as the native user"},
	{AmbiguousEmail, "", "more than one native user has the email (compared case-insensitively after trimming): every one of them, or every profile with that email"},
	{AmbiguousValue, "--provider", "more than one native user has the --by attribute's value: every one of them"},
	{DestinationDisabled, "", "the native user is disabled"},
	{DestinationNotConfirmed, "", "the native user's status cannot sign in: UNCONFIRMED, ARCHIVED, COMPROMISED, UNKNOWN (CONFIRMED, FORCE_CHANGE_PASSWORD and RESET_REQUIRED can)"},
	{AlreadyLinkedCode, "", "the native user holds an identity of the provider already (--provider), or that very identity (--duplicates)"},
	{TooManyIdentities, "", "the native user would hold more than five identities with the link (Cognito links five): the profiles after the fifth, in username order"},
	{UnreadableRow, "", "the row's values would be refused by run (a control or invisible character, invalid UTF-8), or the native user's identities attribute cannot be read"},
	{InvalidValue, "", "the row's values would be refused by run by their shape: a provider name over 32 characters, source fields over 128 characters together"},
}
