package emulator

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// standardAttributes are the attributes every pool has; the others in a schema are custom.
var standardAttributes = []string{
	"address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name",
	"locale", "middle_name", "name", "nickname", "phone_number", "phone_number_verified",
	"picture", "preferred_username", "profile", "sub", "updated_at", "website", "zoneinfo",
}

// schemaAttribute is the API's SchemaAttributeType.
type schemaAttribute struct {
	Name                   *string `json:"Name,omitempty"`
	AttributeDataType      *string `json:"AttributeDataType,omitempty"`
	DeveloperOnlyAttribute *bool   `json:"DeveloperOnlyAttribute,omitempty"`
	Mutable                *bool   `json:"Mutable,omitempty"`
	Required               *bool   `json:"Required,omitempty"`
}

// userPoolType is the API's UserPoolType, as far as the emulator models pools. Its schema
// lists the custom attributes only.
type userPoolType struct {
	Id                     string            `json:"Id"`
	Name                   string            `json:"Name"`
	Arn                    string            `json:"Arn"`
	CreationDate           epochTime         `json:"CreationDate"`
	LastModifiedDate       epochTime         `json:"LastModifiedDate"`
	EstimatedNumberOfUsers int               `json:"EstimatedNumberOfUsers"`
	SchemaAttributes       []schemaAttribute `json:"SchemaAttributes,omitempty"`
	UsernameConfiguration  *usernameConfig   `json:"UsernameConfiguration,omitempty"`
}

// usernameConfig is the API's UsernameConfigurationType.
type usernameConfig struct {
	CaseSensitive *bool `json:"CaseSensitive"`
}

func (p *pool) describe() *userPoolType {
	t := &userPoolType{
		Id:                     p.id,
		Name:                   p.name,
		Arn:                    p.arn(),
		CreationDate:           epochTime(p.created),
		LastModifiedDate:       epochTime(p.modified),
		EstimatedNumberOfUsers: len(p.users),
	}
	if p.caseSetting != nil {
		t.UsernameConfiguration = &usernameConfig{CaseSensitive: aws.Bool(*p.caseSetting)}
	}
	for _, a := range p.custom {
		t.SchemaAttributes = append(t.SchemaAttributes, schemaAttribute{
			Name:                   aws.String(a.name),
			AttributeDataType:      aws.String(a.dataType),
			DeveloperOnlyAttribute: aws.Bool(false),
			Mutable:                aws.Bool(a.mutable),
			Required:               aws.Bool(false),
		})
	}
	return t
}

type createUserPoolInput struct {
	PoolName              *string
	Schema                []schemaAttribute
	UsernameConfiguration *usernameConfig
	// The other members configure what the emulator does not model; they are ignored.
}

func (in *createUserPoolInput) poolID() string { return "" }

func (in *createUserPoolInput) validate() error {
	var v validation
	v.requiredString("poolName", in.PoolName, shapePoolName)
	if in.UsernameConfiguration != nil {
		v.required("usernameConfiguration.caseSensitive", in.UsernameConfiguration.CaseSensitive != nil)
	}
	return v.err()
}

type userPoolOutput struct {
	UserPool *userPoolType `json:"UserPool"`
}

// createUserPool creates a pool in the emulator's region. Of its configuration only the
// custom attributes of the schema, with their mutability, and the username configuration
// are kept. Without a username configuration the pool is case-sensitive (docs/cognito.md).
func (e *Emulator) createUserPool(in *createUserPoolInput) (*userPoolOutput, error) {
	region := e.opt.Load().Region
	now := e.clock()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	id := e.store.newPoolID(region)
	var caseSetting *bool
	if in.UsernameConfiguration != nil {
		caseSetting = in.UsernameConfiguration.CaseSensitive
	}
	p := newPool(id, *in.PoolName, region, caseSetting, now)
	for _, a := range in.Schema {
		name := aws.ToString(a.Name)
		if name == "" || slices.Contains(standardAttributes, name) {
			continue
		}
		p.custom = append(p.custom, customAttribute{
			name:     "custom:" + strings.TrimPrefix(name, "custom:"),
			dataType: cmp.Or(aws.ToString(a.AttributeDataType), "String"),
			mutable:  a.Mutable == nil || *a.Mutable,
		})
	}
	e.store.pools[id] = p
	return &userPoolOutput{UserPool: p.describe()}, nil
}

// newPoolID returns an unused pool ID shaped like Cognito's: the region, an underscore and
// nine letters and digits. The caller holds s.mu.
func (s *store) newPoolID(region string) string {
	const alphanumerics = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for {
		b := []byte(region + "_")
		for range 9 {
			b = append(b, alphanumerics[rand.IntN(len(alphanumerics))])
		}
		if id := string(b); s.pools[id] == nil {
			return id
		}
	}
}

// poolInput is the input of operations that name just a pool.
type poolInput struct {
	UserPoolId *string
}

func (in *poolInput) poolID() string { return aws.ToString(in.UserPoolId) }

func (in *poolInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	return v.err()
}

func (e *Emulator) describeUserPool(in *poolInput) (*userPoolOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return nil, err
	}
	return &userPoolOutput{UserPool: p.describe()}, nil
}

// identityProviderType is the API's IdentityProviderType.
type identityProviderType struct {
	UserPoolId       string            `json:"UserPoolId"`
	ProviderName     string            `json:"ProviderName"`
	ProviderType     string            `json:"ProviderType"`
	ProviderDetails  map[string]string `json:"ProviderDetails"`
	AttributeMapping map[string]string `json:"AttributeMapping,omitempty"`
	IdpIdentifiers   []string          `json:"IdpIdentifiers,omitempty"`
	LastModifiedDate epochTime         `json:"LastModifiedDate"`
	CreationDate     epochTime         `json:"CreationDate"`
}

func (p *pool) describeProvider(prov *provider) *identityProviderType {
	return &identityProviderType{
		UserPoolId:       p.id,
		ProviderName:     prov.name,
		ProviderType:     prov.typ,
		ProviderDetails:  prov.details,
		AttributeMapping: prov.mapping,
		IdpIdentifiers:   prov.idpIdentifiers,
		LastModifiedDate: epochTime(prov.modified),
		CreationDate:     epochTime(prov.created),
	}
}

type createIdentityProviderInput struct {
	UserPoolId       *string
	ProviderName     *string
	ProviderType     *string
	ProviderDetails  map[string]string
	AttributeMapping map[string]string
	IdpIdentifiers   []string
}

func (in *createIdentityProviderInput) poolID() string { return aws.ToString(in.UserPoolId) }

func (in *createIdentityProviderInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.requiredString("providerName", in.ProviderName, shapeProviderNameV2)
	v.requiredString("providerType", in.ProviderType, shapeProviderType)
	v.required("providerDetails", in.ProviderDetails != nil)
	return v.err()
}

type identityProviderOutput struct {
	IdentityProvider *identityProviderType `json:"IdentityProvider"`
}

// createIdentityProvider configures a provider. Its details are kept as given, not checked.
func (e *Emulator) createIdentityProvider(in *createIdentityProviderInput) (*identityProviderOutput, error) {
	now := e.clock()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return nil, err
	}
	if p.providers[*in.ProviderName] != nil {
		return nil, &apiError{codeDuplicateProvider, msgDuplicateProvider(*in.ProviderName)}
	}
	prov := &provider{
		name:           *in.ProviderName,
		typ:            *in.ProviderType,
		details:        in.ProviderDetails,
		mapping:        in.AttributeMapping,
		idpIdentifiers: in.IdpIdentifiers,
		created:        now,
		modified:       now,
	}
	p.providers[prov.name] = prov
	return &identityProviderOutput{IdentityProvider: p.describeProvider(prov)}, nil
}

type describeIdentityProviderInput struct {
	UserPoolId   *string
	ProviderName *string
}

func (in *describeIdentityProviderInput) poolID() string { return aws.ToString(in.UserPoolId) }

func (in *describeIdentityProviderInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.requiredString("providerName", in.ProviderName, shapeProviderName)
	return v.err()
}

func (e *Emulator) describeIdentityProvider(in *describeIdentityProviderInput) (*identityProviderOutput, error) {
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return nil, err
	}
	prov := p.providers[*in.ProviderName]
	if prov == nil {
		return nil, &apiError{codeResourceNotFound, msgIdentityProviderNotFound(*in.ProviderName, p.id)}
	}
	return &identityProviderOutput{IdentityProvider: p.describeProvider(prov)}, nil
}

type listIdentityProvidersInput struct {
	UserPoolId *string
	MaxResults *int32
	NextToken  *string
}

func (in *listIdentityProvidersInput) poolID() string { return aws.ToString(in.UserPoolId) }

func (in *listIdentityProvidersInput) validate() error {
	var v validation
	v.requiredString("userPoolId", in.UserPoolId, shapeUserPoolID)
	v.int("maxResults", in.MaxResults, 0, 60)
	v.string("nextToken", in.NextToken, shapePaginationToken)
	return v.err()
}

// providerDescription is the API's ProviderDescription.
type providerDescription struct {
	ProviderName     string    `json:"ProviderName"`
	ProviderType     string    `json:"ProviderType"`
	LastModifiedDate epochTime `json:"LastModifiedDate"`
	CreationDate     epochTime `json:"CreationDate"`
}

type listIdentityProvidersOutput struct {
	Providers []providerDescription `json:"Providers"`
	NextToken *string               `json:"NextToken,omitempty"`
}

// listIdentityProviders pages through a pool's providers by name.
func (e *Emulator) listIdentityProviders(in *listIdentityProvidersInput) (*listIdentityProvidersOutput, error) {
	after, err := pageAfter(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults)
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	p, err := e.store.pool(in.poolID())
	if err != nil {
		return nil, err
	}
	out := &listIdentityProvidersOutput{Providers: []providerDescription{}}
	for _, name := range slices.Sorted(maps.Keys(p.providers)) {
		if name <= after {
			continue
		}
		if len(out.Providers) == limit {
			out.NextToken = pageToken(out.Providers[limit-1].ProviderName)
			break
		}
		prov := p.providers[name]
		out.Providers = append(out.Providers, providerDescription{
			ProviderName:     prov.name,
			ProviderType:     prov.typ,
			LastModifiedDate: epochTime(prov.modified),
			CreationDate:     epochTime(prov.created),
		})
	}
	return out, nil
}
