/**
 * Ready-to-paste inbound firewall rules for the configured FTP ports, in the common flavours: ufw, nftables,
 * iptables, firewalld and a cloud security group. Pure: the Get connected page renders what this returns.
 */

export interface FirewallPorts {
  /** The FTP control port (explicit FTPS uses it too). */
  ftpPort: number;
  /** The implicit FTPS port, when enabled. */
  ftpsPort: number | null;
  /** The passive range as the settings hold it, e.g. "50000-50100"; "0-0" means any free port. */
  passivePorts: string;
}

export interface PortRange {
  min: number;
  max: number;
}

export const FIREWALL_FLAVOURS = ['ufw', 'nftables', 'iptables', 'firewalld'] as const;
export type FirewallFlavour = (typeof FIREWALL_FLAVOURS)[number];

export interface FirewallSnippet {
  flavour: FirewallFlavour;
  label: string;
  /** Shell commands, one per line (comments start with #). */
  text: string;
}

/** One row of a cloud provider's inbound rules (AWS security group, Azure NSG, GCP firewall rule). */
export interface SecurityGroupRow {
  protocol: 'TCP';
  /** "21" or "50000-50100". */
  portRange: string;
  source: string;
  description: string;
}

export interface FirewallPlan {
  /** null when no fixed passive range is set: the rules then cover the control ports only. */
  passive: PortRange | null;
  snippets: FirewallSnippet[];
  securityGroup: SecurityGroupRow[];
}

/** "50000-50100" → {min, max}; null for "0-0" (any free port) or anything unreadable. */
export function parsePortRange(text: string): PortRange | null {
  const match = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!match) return null;
  const min = Number(match[1]);
  const max = Number(match[2]);
  if (min < 1 || max > 65_535 || min > max) return null;
  return { min, max };
}

const COMMENT = { control: 'Ferry FTP control', ftps: 'Ferry implicit FTPS', passive: 'Ferry FTP passive data' };

export function firewallPlan(ports: FirewallPorts): FirewallPlan {
  const passive = parsePortRange(ports.passivePorts);
  const control = [{ port: String(ports.ftpPort), comment: COMMENT.control }];
  if (ports.ftpsPort) control.push({ port: String(ports.ftpsPort), comment: COMMENT.ftps });
  /** Every rule with the range written the flavour's way ("a:b" or "a-b"). */
  const rules = (rangeSeparator: ':' | '-') => [
    ...control,
    ...(passive ? [{ port: `${passive.min}${rangeSeparator}${passive.max}`, comment: COMMENT.passive }] : []),
  ];
  const noRange = passive ? [] : ['# No fixed passive port range is set: set one (FERRY_PASV_PORTS or Settings) and open it as well.'];

  const ufw = [...noRange, ...rules(':').map((r) => `sudo ufw allow ${r.port}/tcp comment '${r.comment}'`)];
  const nftables = [
    ...noRange,
    '# Into the input chain of an inet table named filter (adjust to your ruleset):',
    ...rules('-').map((r) => `sudo nft add rule inet filter input tcp dport ${r.port} ct state new accept comment '"${r.comment}"'`),
  ];
  const iptables = [
    ...noRange,
    ...['iptables', 'ip6tables'].flatMap((tool) =>
      rules(':').map(
        (r) => `sudo ${tool} -A INPUT -p tcp --dport ${r.port} -m conntrack --ctstate NEW -m comment --comment "${r.comment}" -j ACCEPT`,
      ),
    ),
  ];
  const firewalld = [
    ...noRange,
    ...rules('-').map((r) => `sudo firewall-cmd --permanent --add-port=${r.port}/tcp`),
    'sudo firewall-cmd --reload',
  ];

  return {
    passive,
    snippets: [
      { flavour: 'ufw', label: 'ufw (Ubuntu, Debian)', text: ufw.join('\n') },
      { flavour: 'nftables', label: 'nftables', text: nftables.join('\n') },
      { flavour: 'iptables', label: 'iptables (IPv4 and IPv6)', text: iptables.join('\n') },
      { flavour: 'firewalld', label: 'firewalld (Fedora, RHEL)', text: firewalld.join('\n') },
    ],
    securityGroup: rules('-').map((r) => ({ protocol: 'TCP', portRange: r.port, source: '0.0.0.0/0, ::/0', description: r.comment })),
  };
}
