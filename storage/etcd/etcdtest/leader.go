package etcdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Leader returns the member the running members agree leads the cluster,
// asking each one through etcd's JSON gateway (POST /v3/maintenance/status),
// so a test needs no etcd client to kill the leader.
func (c *Cluster) Leader() (*Member, error) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: c.transport()}
	ids := map[string]*Member{}
	var leader string
	var errs []error
	for _, m := range c.Members {
		if !m.Running() {
			continue
		}
		resp, err := client.Post(m.ClientURL+"/v3/maintenance/status", "application/json", strings.NewReader("{}"))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			continue
		}
		var st struct {
			Header struct {
				MemberID string `json:"member_id"`
			} `json:"header"`
			Leader string `json:"leader"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Errorf("%s: status %d: %v", m.Name, resp.StatusCode, err))
			continue
		}
		ids[st.Header.MemberID] = m
		switch {
		case st.Leader == "" || st.Leader == "0":
			errs = append(errs, fmt.Errorf("%s: no leader", m.Name))
		case leader == "":
			leader = st.Leader
		case leader != st.Leader:
			return nil, fmt.Errorf("etcdtest: members disagree on the leader (%s, %s)", leader, st.Leader)
		}
	}
	if m := ids[leader]; m != nil {
		return m, nil
	}
	errs = append(errs, errors.New("etcdtest: no running member is the leader"))
	return nil, errors.Join(errs...)
}

// LogFile is the file the member's output goes to (kept across restarts,
// removed with the test's temporary directory).
func (m *Member) LogFile() string { return m.dataDir + ".log" }
