import type { EventDelivery, EventRule } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { codeLabel, deliveriesQuery, deliveryFiltersFromSearch, deliveryFiltersToSearch, mayRetry } from '../src/lib/deliveries.js';
import {
  actionTarget,
  applicableFilters,
  dataFields,
  eventRuleToForm,
  formToEventRuleBody,
  handOverSecret,
  newAction,
  takeSecret,
} from '../src/lib/event-form.js';

const rule: EventRule = {
  id: 3,
  name: 'Uploads to the ERP',
  enabled: true,
  events: ['upload.completed', 'finding.raised'],
  filters: {
    users: ['alice', 'bob'],
    groups: ['Sales team'],
    paths: ['/incoming/**/*.csv', '/in, out/*'],
    networks: ['203.0.113.0/24'],
    findingCodes: ['passive-data-never-arrived'],
    minSeverity: 'warning',
    minBytes: 10 * 1024 ** 2,
  },
  actions: [
    { id: 'a1', kind: 'webhook', url: 'https://hooks.example.com/ferry', timeoutMs: 5000 },
    { id: 'a2', kind: 'email', to: ['ops@example.com', 'it@example.com'], subject: '[Ferry] {{type}}', digestMinutes: 60 },
    { id: 'a3', kind: 'command', command: '/usr/local/bin/scan', args: ['--fast', 'a b'], env: ['path'], outputLimitBytes: 4096 },
  ],
  secretSet: true,
  counters: { matched: 0, delivered: 0, failed: 0, pending: 0 },
  lastMatchedAt: null,
  createdAt: 1,
  updatedAt: 2,
};

describe('event rule form', () => {
  it('round-trips a rule, keeping the action ids', () => {
    const result = formToEventRuleBody(eventRuleToForm(rule));
    expect(result).toEqual({
      ok: true,
      body: {
        name: rule.name,
        enabled: true,
        events: rule.events,
        filters: rule.filters,
        actions: rule.actions,
      },
    });
  });

  it('leaves out the filters that apply to none of the chosen events', () => {
    const model = eventRuleToForm(rule);
    model.events = ['ban.created'];
    model.actions = model.actions.slice(0, 1);
    const result = formToEventRuleBody(model);
    expect(result.ok && result.body.filters).toEqual({
      users: [],
      groups: [],
      paths: [],
      networks: ['203.0.113.0/24'],
      findingCodes: [],
      minSeverity: null,
      minBytes: null,
    });
    expect(applicableFilters(['ban.created'])).toEqual(['networks']);
    expect(applicableFilters(['certificate.expiring'])).toEqual([]);
  });

  it('names the invalid inputs with the API’s field keys', () => {
    const model = eventRuleToForm();
    model.actions = [
      { ...newAction('webhook'), url: 'ftp://x', timeout: '500' },
      { ...newAction('email'), to: 'nobody', digestMinutes: '0' },
      newAction('command'),
    ];
    const result = formToEventRuleBody(model);
    expect(result.ok).toBe(false);
    expect(!result.ok && Object.keys(result.errors).sort()).toEqual(
      ['name', 'events', 'actions.0.url', 'actions.0.timeoutMs', 'actions.1.to', 'actions.1.digestMinutes', 'actions.2.command'].sort(),
    );
  });

  it('sends new actions without an id and times in milliseconds', () => {
    const model = eventRuleToForm();
    model.name = 'Hook';
    model.events = ['login.failed'];
    model.actions = [{ ...newAction('webhook'), url: 'http://127.0.0.1:9/hook', timeout: '2.5' }];
    const result = formToEventRuleBody(model);
    expect(result.ok && result.body.actions).toEqual([{ kind: 'webhook', url: 'http://127.0.0.1:9/hook', timeoutMs: 2500 }]);
  });

  it('offers the chosen events’ data fields and describes targets', () => {
    expect(dataFields(['ban.created'])).toEqual(['clientAddress', 'expiresAt', 'offences', 'reason']);
    expect(rule.actions.map(actionTarget)).toEqual([
      'https://hooks.example.com/ferry',
      'ops@example.com, it@example.com',
      '/usr/local/bin/scan --fast a b',
    ]);
  });

  it('hands a new rule’s secret to its page once', () => {
    handOverSecret(7, 'secret-of-seven');
    expect(takeSecret(8)).toBeNull();
    handOverSecret(7, 'secret-of-seven');
    expect(takeSecret(7)).toBe('secret-of-seven');
    expect(takeSecret(7)).toBeNull();
  });
});

describe('delivery filters', () => {
  it('round-trips through the URL and drops what is not a filter', () => {
    const form = deliveryFiltersFromSearch(new URLSearchParams('status=failed&ruleId=3&type=upload.completed&x=1'));
    expect(form).toEqual({ status: 'failed', ruleId: '3', type: 'upload.completed', eventId: '' });
    expect(deliveryFiltersToSearch(form)).toBe('?status=failed&ruleId=3&type=upload.completed');
    expect(deliveryFiltersFromSearch(new URLSearchParams('status=lost&ruleId=abc&type=nope'))).toEqual({
      status: '',
      ruleId: '',
      type: '',
      eventId: '',
    });
    expect(deliveriesQuery(form, { cursor: 'c1', limit: 25 })).toEqual({
      status: 'failed',
      ruleId: 3,
      type: 'upload.completed',
      limit: 25,
      cursor: 'c1',
    });
  });

  it('retries only pending and failed deliveries and labels their codes', () => {
    expect(['pending', 'delivered', 'failed', 'cancelled'].filter((status) => mayRetry({ status } as EventDelivery))).toEqual([
      'pending',
      'failed',
    ]);
    expect(codeLabel({ actionKind: 'webhook', lastCode: 500 })).toBe('HTTP 500');
    expect(codeLabel({ actionKind: 'command', lastCode: 2 })).toBe('exit 2');
    expect(codeLabel({ actionKind: 'email', lastCode: null })).toBeNull();
  });
});
