package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arcakv/arca/deployment"
)

// armClient talks to a running deployment's Resource Manager as the
// development service principal: `arca vault create` is a thin client of
// the management plane while `arca serve` runs.
type armClient struct {
	base  string // https://localhost:PORT
	port  string // ":PORT" or ""
	sub   string
	token string // current bearer token
	mgmt  string // token for the management audience
	graph string // token for Microsoft Graph
	http  *http.Client
}

func newARMClient(data string) (*armClient, error) {
	d, err := deployment.ReadFacts(data)
	if err != nil {
		return nil, err
	}
	creds, err := deployment.ReadCredentials(data)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(filepath.Join(data, deployment.CAFile))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	port := ""
	if d.Port != 443 && d.Port != 0 {
		port = ":" + strconv.Itoa(d.Port)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	if d.ListenPort != 0 {
		// Clients use another port (a load balancer's): the URLs carry
		// it, but this node is reached where it listens.
		direct := net.JoinHostPort("localhost", strconv.Itoa(d.ListenPort))
		dialer := &net.Dialer{Timeout: 10 * time.Second}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, direct)
		}
	}
	c := &armClient{base: "https://localhost" + port, port: port, sub: d.SubscriptionID,
		http: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
	for _, t := range []struct {
		dst      *string
		resource string
	}{{&c.mgmt, "https://management.localhost" + port}, {&c.graph, "https://localhost" + port}} {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {d.DevClientID}, "client_secret": {creds.ClientSecret},
			"resource": {t.resource}}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := c.do("POST", "/adfs/oauth2/token", "application/x-www-form-urlencoded", form.Encode(), &tok); err != nil {
			return nil, err
		}
		*t.dst = tok.AccessToken
	}
	return c, nil
}

func (c *armClient) do(method, path, contentType, body string, out any) error {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s: %s", e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// objectID resolves an application id to its object id through Graph.
func (c *armClient) objectID(appID string) (string, error) {
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	q := url.QueryEscape("appId eq '" + appID + "'")
	c.token = c.graph
	if err := c.do("GET", "/v1.0/servicePrincipals?$filter="+q, "", "", &out); err != nil {
		return "", err
	}
	if len(out.Value) == 0 {
		return "", fmt.Errorf("service principal %s not found", appID)
	}
	return out.Value[0].ID, nil
}

// createVault creates a vault in the default resource group, granting the
// development identities every permission.
func (c *armClient) createVault(data, name, sku string, retention int, purgeProtection bool) error {
	d, err := deployment.ReadFacts(data)
	if err != nil {
		return err
	}
	var policies []map[string]any
	for _, app := range []string{d.DevClientID, d.ManagedClientID} {
		oid, err := c.objectID(app)
		if err != nil {
			return err
		}
		all := []string{"all"}
		policies = append(policies, map[string]any{"tenantId": d.TenantID, "objectId": oid,
			"permissions": map[string]any{"keys": all, "secrets": all, "certificates": all, "storage": all}})
	}
	props := map[string]any{"tenantId": d.TenantID, "sku": map[string]string{"family": "A", "name": sku},
		"accessPolicies": policies, "softDeleteRetentionInDays": retention}
	if purgeProtection {
		props["enablePurgeProtection"] = true
	}
	body, _ := json.Marshal(map[string]any{"location": deployment.DefaultLocation, "properties": props})
	c.token = c.mgmt
	return c.do("PUT", "/subscriptions/"+c.sub+"/resourceGroups/"+deployment.DefaultResourceGroup+"/providers/Microsoft.KeyVault/vaults/"+name+"?api-version=2023-07-01",
		"application/json", string(body), nil)
}
