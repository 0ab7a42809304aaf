import { ValidationError } from '@trellis/platform/errors';
import { optionalCategory, validatePreferenceChange } from './category';
import { templateVersion, validateTemplateContent } from './template';

const fieldsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.fieldViolations.map((v) => v.field);
    throw err;
  }
  return [];
};

describe('categories', () => {
  it('a request category is optional, and well formed when given', () => {
    expect(optionalCategory('')).toBe('');
    expect(optionalCategory(' newsletter ')).toBe('newsletter');
    expect(fieldsOf(() => optionalCategory('News!'))).toEqual(['category']);
  });

  it('a preference change names every bad field, and a category in both lists', () => {
    expect(validatePreferenceChange({ optOut: ['offers', 'offers'], optIn: [] })).toEqual({
      optOut: ['offers'],
      optIn: [],
    });
    expect(
      fieldsOf(() => validatePreferenceChange({ optOut: ['ok', 'Not OK'], optIn: ['', 'ok'] })),
    ).toEqual(['opt_out[1]', 'opt_in[0]', 'opt_in[1]']);
  });

  it('only a marketing template has a category; marketing without one gets "marketing"', () => {
    const content = {
      displayName: 'N',
      description: '',
      subject: 's',
      textBody: 't',
      htmlBody: '',
    };
    expect(fieldsOf(() => validateTemplateContent({ ...content, category: 'newsletter' }))).toEqual(
      ['category'],
    );
    expect(
      fieldsOf(() => validateTemplateContent({ ...content, marketing: true, category: 'Bad' })),
    ).toEqual(['category']);
    const now = new Date();
    expect(templateVersion('t', 1, { ...content, marketing: true }, now)).toMatchObject({
      marketing: true,
      category: 'marketing',
    });
    expect(templateVersion('t', 1, content, now)).toMatchObject({ marketing: false, category: '' });
  });
});
