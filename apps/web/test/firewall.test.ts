import { describe, expect, it } from 'vitest';
import { firewallPlan, parsePortRange } from '../src/lib/firewall.js';

const text = (plan: ReturnType<typeof firewallPlan>, flavour: string) => plan.snippets.find((s) => s.flavour === flavour)?.text ?? '';

describe('parsePortRange', () => {
  it.each([
    ['50000-50100', { min: 50000, max: 50100 }],
    [' 40000 - 40000 ', { min: 40000, max: 40000 }],
    ['0-0', null],
    ['50100-50000', null],
    ['50000-70000', null],
    ['50000', null],
  ])('%s → %j', (input, expected) => {
    expect(parsePortRange(input)).toEqual(expected);
  });
});

describe('firewallPlan', () => {
  const plan = firewallPlan({ ftpPort: 2121, ftpsPort: 990, passivePorts: '50000-50100' });

  it('opens the control port, the implicit FTPS port and the passive range in ufw, written its way', () => {
    expect(text(plan, 'ufw').split('\n')).toEqual([
      "sudo ufw allow 2121/tcp comment 'Ferry FTP control'",
      "sudo ufw allow 990/tcp comment 'Ferry implicit FTPS'",
      "sudo ufw allow 50000:50100/tcp comment 'Ferry FTP passive data'",
    ]);
  });

  it('writes nftables ranges with a dash, iptables ranges with a colon (for IPv4 and IPv6)', () => {
    expect(text(plan, 'nftables')).toContain(
      `sudo nft add rule inet filter input tcp dport 50000-50100 ct state new accept comment '"Ferry FTP passive data"'`,
    );
    expect(text(plan, 'nftables')).toContain('tcp dport 2121 ct state new accept');
    const iptables = text(plan, 'iptables').split('\n');
    expect(iptables).toHaveLength(6);
    expect(iptables.filter((l) => l.includes('--dport 50000:50100 '))).toHaveLength(2);
    expect(iptables.filter((l) => l.startsWith('sudo ip6tables -A INPUT -p tcp --dport 2121 '))).toHaveLength(1);
  });

  it('adds firewalld ports permanently and reloads', () => {
    expect(text(plan, 'firewalld').split('\n')).toEqual([
      'sudo firewall-cmd --permanent --add-port=2121/tcp',
      'sudo firewall-cmd --permanent --add-port=990/tcp',
      'sudo firewall-cmd --permanent --add-port=50000-50100/tcp',
      'sudo firewall-cmd --reload',
    ]);
  });

  it('lists the same ports as cloud security-group rows open to every address', () => {
    expect(plan.securityGroup.map((r) => [r.protocol, r.portRange, r.source])).toEqual([
      ['TCP', '2121', '0.0.0.0/0, ::/0'],
      ['TCP', '990', '0.0.0.0/0, ::/0'],
      ['TCP', '50000-50100', '0.0.0.0/0, ::/0'],
    ]);
  });

  it('without implicit FTPS or a fixed passive range, opens the control port and says to set a range', () => {
    const bare = firewallPlan({ ftpPort: 21, ftpsPort: null, passivePorts: '0-0' });
    expect(bare.passive).toBeNull();
    for (const snippet of bare.snippets) {
      expect(snippet.text).toMatch(/^# No fixed passive port range is set/);
      expect(snippet.text).toMatch(/\b21\b/);
      expect(snippet.text).not.toMatch(/990|50000/);
    }
    expect(bare.securityGroup.map((r) => r.portRange)).toEqual(['21']);
  });
});
