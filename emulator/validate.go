package emulator

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// stringShape is a string member's constraints in the Cognito API model (service-2.json).
type stringShape struct {
	min, max  int
	pattern   string         // as the model writes it, for messages
	re        *regexp.Regexp // pattern, anchored at both ends
	enum      []string
	sensitive bool // the value is left out of messages
}

func shape(min, max int, pattern string) stringShape {
	s := stringShape{min: min, max: max, pattern: pattern}
	if pattern != "" {
		s.re = regexp.MustCompile(`^(?:` + pattern + `)$`)
	}
	return s
}

func (s stringShape) secret() stringShape { s.sensitive = true; return s }

func enumShape(values ...string) stringShape { return stringShape{enum: values} }

// The model's shapes of the members the emulator validates.
var (
	shapeString              = shape(0, 131072, "")
	shapeUserPoolID          = shape(1, 55, `[\w-]+_[0-9a-zA-Z]+`)
	shapeUsername            = shape(1, 128, `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`).secret()
	shapeProviderName        = shape(1, 32, `[\p{L}\p{M}\p{S}\p{N}\p{P}\p{Z}]+`)
	shapeProviderNameV2      = shape(1, 32, `[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+`)
	shapePoolName            = shape(1, 128, `[\w\s+=,.@-]+`)
	shapePaginationToken     = shape(1, 0, `[\S]+`)
	shapeFilter              = shape(0, 256, "")
	shapeAttributeMappingKey = shape(1, 32, "")
	shapeProviderType        = enumShape(providerTypes...)
	shapeMessageAction       = enumShape("RESEND", "SUPPRESS")
)

// validation collects the constraint violations of one request, in the order of the model's
// members, and reports them the way AWS does.
type validation []string

// required records a violation when a required member is absent.
func (v *validation) required(path string, present bool) {
	if !present {
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
	}
}

// string checks s, when present, against its shape.
func (v *validation) string(path string, s *string, sh stringShape) {
	if s == nil {
		return
	}
	violate := func(constraint string) {
		value := fmt.Sprintf(" '%s'", *s)
		if sh.sensitive {
			value = ""
		}
		*v = append(*v, fmt.Sprintf("Value%s at '%s' failed to satisfy constraint: Member must %s", value, path, constraint))
	}
	if sh.enum != nil {
		for _, e := range sh.enum {
			if *s == e {
				return
			}
		}
		violate(fmt.Sprintf("satisfy enum value set: [%s]", strings.Join(sh.enum, ", ")))
		return
	}
	if sh.re != nil && !sh.re.MatchString(*s) {
		violate("satisfy regular expression pattern: " + sh.pattern)
	}
	n := utf8.RuneCountInString(*s)
	if n < sh.min {
		violate(fmt.Sprintf("have length greater than or equal to %d", sh.min))
	}
	if sh.max > 0 && n > sh.max {
		violate(fmt.Sprintf("have length less than or equal to %d", sh.max))
	}
}

// requiredString is required and string together, for the common case.
func (v *validation) requiredString(path string, s *string, sh stringShape) {
	v.required(path, s != nil)
	v.string(path, s, sh)
}

// int checks n, when present, against a range.
func (v *validation) int(path string, n *int32, min, max int32) {
	switch {
	case n == nil:
	case *n < min:
		*v = append(*v, fmt.Sprintf("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *n, path, min))
	case *n > max:
		*v = append(*v, fmt.Sprintf("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *n, path, max))
	}
}

// err returns the violations as the InvalidParameterException AWS answers, or nil.
func (v validation) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return invalidParameter("1 validation error detected: " + v[0])
	}
	return invalidParameter(fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; ")))
}
