package input_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulklink/bulklink/input"
)

func ExampleNewCSV() {
	const in = `Destination_User,Source_Provider,Source_Value,Ticket
alice,Google,110169484474386276334,T-1
bob,Okta,b-1,"a note
on two lines"
carol,Cognito,c-1,T-3
dave,Okta,"unterminated,T-4
erin,Okta,e-1,T-5
`
	r, err := input.NewCSV(strings.NewReader(in), input.Options{UserPoolID: "us-east-1_Example1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println("extras:", r.Columns())
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if !row.Valid() {
			fmt.Printf("line %d: invalid: %s: %s\n", row.Line, row.Code, row.Invalid)
			continue
		}
		q := row.Request
		fmt.Printf("line %d: link %s:%s to %s %s=%s %v\n", row.Line,
			q.DestinationProvider, q.DestinationUser, q.SourceProvider, q.SourceAttribute, q.SourceValue, row.Extra)
	}
	// Output:
	// extras: [Ticket]
	// line 2: link Cognito:alice to Google Cognito_Subject=110169484474386276334 [{Ticket T-1 false}]
	// line 3: link Cognito:bob to Okta Cognito_Subject=b-1 [{Ticket a note
	// on two lines false}]
	// line 5: invalid: CognitoSource: Cognito users cannot be a source, only a destination: source_provider must name an identity provider of the pool
	// line 6: invalid: UnterminatedQuote: the quoted field that opens on line 6 never closes: lines 6 to 8, the end of the input, are one unterminated record, and none of them is read as a row
}
