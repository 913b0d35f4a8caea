package emulator

import "fmt"

// Error codes the emulator answers with. Cognito's own codes map to the SDK's typed errors
// (types.<Code>); the others become *smithy.GenericAPIError with that code.
const (
	codeAccessDenied          = "AccessDeniedException"
	codeBadRequest            = "BadRequest" // the front door's, for a request no operation takes
	codeDuplicateProvider     = "DuplicateProviderException"
	codeExpiredToken          = "ExpiredTokenException"
	codeInternalError         = "InternalErrorException"
	codeInvalidParameter      = "InvalidParameterException"
	codeNoSuchResource        = "NoSuchResourceException"           // Service Quotas
	codeIllegalArgument       = "IllegalArgumentException"          // Service Quotas
	codeInvalidParameterValue = "InvalidParameterValueException"    // CloudWatch
	codeMissingParameter      = "MissingRequiredParameterException" // CloudWatch
	codeLimitExceeded         = "LimitExceededException"
	codeNotAuthorized         = "NotAuthorizedException"
	codeResourceNotFound      = "ResourceNotFoundException"
	codeSerialization         = "SerializationException"
	codeTooManyRequests       = "TooManyRequestsException"
	codeUnknownOperation      = "UnknownOperationException"
	codeUnrecognizedClient    = "UnrecognizedClientException"
	codeUserNotFound          = "UserNotFoundException"
	codeUsernameExists        = "UsernameExistsException"
)

// statusByCode is the HTTP status of each error code (docs/emulator.md, from the Smithy model).
// Codes not listed are client errors answered with 400.
var statusByCode = map[string]int{
	codeBadRequest:       404,
	codeUserNotFound:     404,
	codeResourceNotFound: 404,
	codeNotAuthorized:    403,
	codeTooManyRequests:  429,
	codeInternalError:    500,
}

// The messages Cognito answers with, tagged as docs/emulator.md tags facts: "seen" in real use, or
// our "guess" where Cognito's text is unknown. Error messages are not a stable contract, which
// is why bulklink must not depend on them; the emulator still reproduces the known ones
// verbatim so that rehearsals meet them.
const (
	// seen
	msgUserNotFound   = "User does not exist."
	msgCognitoSource  = "Invalid SourceUser: Cognito users with a username/password may not be passed in as a SourceUser, only as a DestinationUser"
	msgMerging        = "Merging is not currently supported, provide a SourceUser that has not been signed up in order to link"
	msgAlreadyLinked  = "SourceUser is already linked to DestinationUser" // since mid-2024
	msgNotLinked      = "Account isn't linked to anyone else, verify that the account has been linked"
	msgRateExceeded   = "Rate exceeded"
	msgUsernameExists = "User account already exists"
	msgInvalidToken   = "The security token included in the request is invalid."
	msgExpiredToken   = "The security token included in the request is expired"
	msgBadRequest     = "The server did not understand the operation that was requested." // to requests no operation takes, see docs/emulator.md
	msgFilterSyntax   = "Error while parsing filter."                                     // aws/aws-sdk-php#1088
	// to ListUsers' AttributesToGet naming an attribute a listed user has no value for
	// (aws-samples/sample-collaborative-ai-dlc#52; that report blames sub, the
	// documentation's rule a custom attribute it also named: docs/emulator.md)
	msgInputConstraints = "Input fails to satisfy the constraints."

	// guess
	msgSocialAttribute  = "Invalid SourceUser: ProviderAttributeName must be Cognito_Subject for a social identity provider"
	msgSourceTooLong    = "Invalid SourceUser: ProviderName, ProviderAttributeName and ProviderAttributeValue must not exceed 128 characters in total"
	msgSourceIncomplete = "Invalid SourceUser: ProviderAttributeName and ProviderAttributeValue must not be empty"
	msgInternalError    = "An internal error occurred, please retry."
	msgNotAuthorized    = "Access to the requested resource is not authorized."

	msgPaginationToken = "Invalid pagination token."
	msgSerialization   = "Unable to parse the request body as JSON."
	msgNoSuchService   = "The request failed because the specified service does not exist."
	msgNoSuchQuota     = "The request failed because the specified quota does not exist."
	msgGroupNotFound   = "Group not found."
)

// msgPoolNotFound: guess (docs/emulator.md).
func msgPoolNotFound(poolID string) string {
	return fmt.Sprintf("User pool %s does not exist.", poolID)
}

// msgProviderNotFound: seen from CreateUserPoolClient; a guess for AdminLinkProviderForUser.
func msgProviderNotFound(provider, poolID string) string {
	return fmt.Sprintf("The provider %s does not exist for User Pool %s.", provider, poolID)
}

// msgTooManyIdentities: guess, and so is the code (LimitExceededException).
func msgTooManyIdentities(limit int) string {
	return fmt.Sprintf("Maximum number of identities (%d) linked to DestinationUser reached", limit)
}

// msgTooManyGroups: guess, and so is the code (InvalidParameterException: the model has no
// LimitExceededException for AdminAddUserToGroup).
func msgTooManyGroups(limit int) string {
	return fmt.Sprintf("A user can belong to at most %d groups.", limit)
}

// msgImmutableAttribute: guess.
func msgImmutableAttribute(name string) string {
	return fmt.Sprintf("Invalid DestinationUser: a user with an immutable custom attribute (%s) cannot be linked", name)
}

// msgDuplicateProvider: guess.
func msgDuplicateProvider(name string) string {
	return fmt.Sprintf("A provider with the name %s already exists in this user pool.", name)
}

// msgIdentityProviderNotFound: guess.
func msgIdentityProviderNotFound(name, poolID string) string {
	return fmt.Sprintf("Identity provider %s does not exist in user pool %s.", name, poolID)
}

// msgFilterAttribute: guess.
func msgFilterAttribute(name string) string {
	return fmt.Sprintf("Invalid search attribute: %s is not searchable.", name)
}

// msgPagingMarker: seen (aws/aws-sdk-js#3705) for a ListUsers token sent without the filter
// it came with, the request's ID at the end; a guess for other invalid tokens.
func msgPagingMarker(token, requestID string) string {
	return fmt.Sprintf("Paging marker %s is invalid for request %s", token, requestID)
}

// msgAccessDenied: the format IAM uses (seen), for an action such as
// cognito-idp:AdminLinkProviderForUser.
func msgAccessDenied(accessKeyID, action, resource string) string {
	return fmt.Sprintf("User: arn:aws:iam::%s:user/%s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		accountID, accessKeyID, action, resource, action)
}
