import { paths } from '../lib/routes.js';

/** The two pages under Events: the rules and the log of their deliveries. */
export const eventsTabs = () => [
  { href: paths.eventRules(), label: 'Rules' },
  { href: paths.eventDeliveries(), label: 'Deliveries' },
];
