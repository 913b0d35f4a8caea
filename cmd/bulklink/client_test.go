package main

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// Each pool's calls go to the region its id starts with; anything else to the configured one.
func TestCognitoRoutesByPoolRegion(t *testing.T) {
	t.Parallel()
	c := &cognito{region: "us-east-1", cfg: aws.Config{Region: "us-east-1"}, opts: func(*cip.Options) {}, by: map[string]*cip.Client{}}
	for pool, want := range map[string]string{
		"eu-west-1_AbC123":  "eu-west-1",
		"us-east-1_AbC123":  "us-east-1",
		"ap-southeast-2_X1": "ap-southeast-2",
		"not a pool":        "us-east-1",
		"":                  "us-east-1",
	} {
		if got := c.client(aws.String(pool)).Options().Region; got != want {
			t.Errorf("pool %q: region %s, want %s", pool, got, want)
		}
	}
	if c.client(aws.String("eu-west-1_A1")) != c.client(aws.String("eu-west-1_B2")) {
		t.Error("two pools of a region got two clients, want one")
	}
}
