import { bounceKind, type RecipientReport } from './delivery-report';

const report = (action: RecipientReport['action'], status: string): RecipientReport => ({
  recipient: 'ann@example.com',
  action,
  status,
  diagnostic: '',
});

describe('bounceKind', () => {
  it('classifies failed 5.x.x as hard, failed 4.x.x and delayed as soft, the rest as none', () => {
    expect(bounceKind(report('failed', '5.1.1'))).toBe('hard');
    expect(bounceKind(report('failed', '4.2.2'))).toBe('soft');
    expect(bounceKind(report('delayed', '4.4.7'))).toBe('soft');
    expect(bounceKind(report('delivered', '2.0.0'))).toBeUndefined();
    expect(bounceKind(report('relayed', '2.0.0'))).toBeUndefined();
  });
});
