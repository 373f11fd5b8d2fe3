// Verify a webhook from the actions bot in Go, with the standard library only.
//
//	func hook(w http.ResponseWriter, r *http.Request) {
//		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)) // the raw bytes
//		req, err := Verify(r.Header, body, []string{os.Getenv("WEBHOOK_SIGNING_SECRET")}, Options{
//			SignedHeaders: []string{"Content-Type", "Authorization"}, // the action's configured headers
//		})
//		if err != nil {
//			http.Error(w, err.Error(), http.StatusUnauthorized)
//			return
//		}
//		// req.ID (webhook-id) is the same on every attempt of a run: a retry.
//		// req.Signature differs per attempt: a repeat of one is a replay (answer 409).
//	}
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options default to the bot's: prefix X-Actions, a 5-minute tolerance, the current time.
type Options struct {
	Prefix        string
	SignedHeaders []string // the action's configured header names, exactly as configured
	Tolerance     time.Duration
	Now           time.Time
}

// Verified is what an authentic request tells a receiver.
type Verified struct {
	ID        string   `json:"id"`
	Timestamp int64    `json:"timestamp"`
	Signature string   `json:"signature"`
	Schemes   []string `json:"schemes"`
}

// Verify checks every signature the request carries (at least one must be there).
func Verify(header http.Header, body []byte, secrets []string, opts Options) (Verified, error) {
	if opts.Prefix == "" {
		opts.Prefix = "X-Actions"
	}
	if opts.Tolerance == 0 {
		opts.Tolerance = 5 * time.Minute
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var checked []Verified
	if header.Get("webhook-signature") != "" {
		v, err := standard(header, body, secrets, opts)
		if err != nil {
			return Verified{}, err
		}
		checked = append(checked, v)
	}
	if header.Get(opts.Prefix+"-Signature") != "" {
		v, err := opslevel(header, body, secrets, opts)
		if err != nil {
			return Verified{}, err
		}
		checked = append(checked, v)
	}
	if len(checked) == 0 {
		return Verified{}, errors.New("no signature header")
	}
	result := checked[0]
	result.Schemes = nil
	for _, v := range checked {
		result.Schemes = append(result.Schemes, v.Schemes...)
	}
	return result, nil
}

func fresh(name, value string, opts Options) (int64, error) {
	if value == "" {
		return 0, fmt.Errorf("missing %s header", name)
	}
	stamp, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a Unix time in seconds", name)
	}
	age := opts.Now.Sub(time.Unix(stamp, 0))
	if age > opts.Tolerance || -age > opts.Tolerance {
		return 0, fmt.Errorf("%s is more than the %d s allowed from now", name, int(opts.Tolerance.Seconds()))
	}
	return stamp, nil
}

func mac(key, content []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(content)
	return h.Sum(nil)
}

// Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed by the
// base64-decoded part of the whsec_ secret; several signatures while rotating.
func standard(header http.Header, body []byte, secrets []string, opts Options) (Verified, error) {
	id := header.Get("webhook-id")
	if id == "" {
		return Verified{}, errors.New("missing webhook-id header")
	}
	stamp, err := fresh("webhook-timestamp", header.Get("webhook-timestamp"), opts)
	if err != nil {
		return Verified{}, err
	}
	content := append([]byte(fmt.Sprintf("%s.%d.", id, stamp)), body...)
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return Verified{}, errors.New("the secret is not whsec_ + base64")
		}
		expected := base64.StdEncoding.EncodeToString(mac(key, content))
		for _, offered := range strings.Fields(header.Get("webhook-signature")) {
			version, value, _ := strings.Cut(offered, ",")
			if version == "v1" && hmac.Equal([]byte(value), []byte(expected)) {
				return Verified{ID: id, Timestamp: stamp, Signature: value, Schemes: []string{"standard"}}, nil
			}
		}
	}
	return Verified{}, errors.New("webhook-signature does not match the body")
}

// OpsLevel-style: hex HMAC-SHA256, keyed by the secret string, of the "Name:Value" pairs of
// the timing, run-id and configured headers (names as configured, sorted), "+", the body.
func opslevel(header http.Header, body []byte, secrets []string, opts Options) (Verified, error) {
	timing, uuid := opts.Prefix+"-Timing", opts.Prefix+"-Action-Uuid"
	stamp, err := fresh(timing, header.Get(timing), opts)
	if err != nil {
		return Verified{}, err
	}
	names := map[string]bool{timing: true}
	if len(header.Values(uuid)) > 0 {
		names[uuid] = true
	}
	for _, name := range opts.SignedHeaders {
		if len(header.Values(name)) == 0 {
			return Verified{}, fmt.Errorf("signed header %s is missing", name)
		}
		names[name] = true
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	sort.Strings(sorted)
	pairs := make([]string, len(sorted))
	for i, name := range sorted {
		pairs[i] = name + ":" + header.Get(name)
	}
	content := append([]byte(strings.Join(pairs, ",")+"+"), body...)
	offered := header.Get(opts.Prefix + "-Signature")
	for _, secret := range secrets {
		expected := "sha256=" + hex.EncodeToString(mac([]byte(secret), content))
		if hmac.Equal([]byte(offered), []byte(expected)) {
			id := header.Get("webhook-id")
			if id == "" {
				id = header.Get(uuid)
			}
			return Verified{ID: id, Timestamp: stamp, Signature: offered, Schemes: []string{"opslevel"}}, nil
		}
	}
	return Verified{}, fmt.Errorf("%s-Signature does not match (secret, body or SignedHeaders)", opts.Prefix)
}

// `go run verify.go` reads {headers, body_base64, secret, prefix, signed_headers, now} as JSON
// on stdin and prints the result: a way to test a request by hand.
func main() {
	var given struct {
		Headers       map[string]string `json:"headers"`
		Body          string            `json:"body_base64"`
		Secret        string            `json:"secret"`
		Prefix        string            `json:"prefix"`
		SignedHeaders []string          `json:"signed_headers"`
		Now           int64             `json:"now"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&given); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	header := http.Header{}
	for name, value := range given.Headers {
		header.Add(name, value)
	}
	body, _ := base64.StdEncoding.DecodeString(given.Body)
	opts := Options{Prefix: given.Prefix, SignedHeaders: given.SignedHeaders}
	if given.Now != 0 {
		opts.Now = time.Unix(given.Now, 0)
	}
	result, err := Verify(header, body, strings.Fields(given.Secret), opts)
	out := map[string]any{"ok": err == nil}
	if err != nil {
		out["error"] = err.Error()
	} else {
		out["id"], out["timestamp"], out["signature"], out["schemes"] = result.ID, result.Timestamp, result.Signature, result.Schemes
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
	if err != nil {
		os.Exit(1)
	}
}
