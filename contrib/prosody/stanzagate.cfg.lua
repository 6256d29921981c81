-- Prosody: the stanzagate components.
--
-- Debian's /etc/prosody/prosody.cfg.lua includes conf.d/*.cfg.lua at its
-- end: copy this file to /etc/prosody/conf.d/stanzagate.cfg.lua, replace
-- example.org and the secrets, and run "prosodyctl reload" (or restart).
--
-- Each Component line matches one backend section of stanzagate.conf: the
-- same name as its jid, the same secret. Declare only the gateways you
-- enable; a component that never connects only makes its domain answer
-- "service unavailable". Generate secrets with: openssl rand -hex 24
--
-- Prosody listens for components on 127.0.0.1 and ::1, port 5347, by
-- default ([xmpp] server and port in stanzagate.conf). To change it, set
-- these in the GLOBAL section of prosody.cfg.lua (before any VirtualHost:
-- in this file they would belong to the last Component declared):
--   component_ports = { 5347 }
--   component_interfaces = { "127.0.0.1" }
-- Never expose the component port to other machines: the secret is all
-- that guards it, and XEP-0114 sends the handshake in the clear.
--
-- Notes:
-- * mod_s2s is not needed for your own users: Prosody routes their stanzas
--   to the components internally. Keep s2s (and publish DNS records for the
--   gateway domains) only if users of other servers should reach them; then
--   restrict who may register with allowed_domains in stanzagate.conf.
-- * mod_offline (enabled by default) stores what the gateways send while a
--   user is offline; the gateway relies on it (docs/operating.md).
-- * Prosody, not stanzagate, sets the throughput ceiling on one machine.
-- * Roster access (XEP-0356): with prosody-modules' mod_privilege (Debian:
--   apt-get install prosody-modules), the gateways write themselves and
--   their contacts into users' rosters, with no request to accept. In the
--   GLOBAL modules_enabled of prosody.cfg.lua add "privilege"; in your
--   VirtualHost, grant each gateway roster access:
--     privileged_entities = {
--       ["irc.example.org"] = { roster = "both" };
--       ["sms.example.org"] = { roster = "both" };
--       ["mail.example.org"] = { roster = "both" };
--     }
--   and enable the module in each Component below (uncomment the line).

Component "echo.example.org"
	component_secret = "change-me-echo"
	-- modules_enabled = { "privilege" }

Component "irc.example.org"
	component_secret = "change-me-irc"
	-- modules_enabled = { "privilege" }

Component "sms.example.org"
	component_secret = "change-me-sms"
	-- modules_enabled = { "privilege" }

Component "mail.example.org"
	component_secret = "change-me-mail"
	-- modules_enabled = { "privilege" }
