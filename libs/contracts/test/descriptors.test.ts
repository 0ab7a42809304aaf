import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { descriptorSetPath, loadDescriptorSet, resolveDescriptorSetPath } from '../src';

describe('resolveDescriptorSetPath', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'descriptors-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers DESCRIPTOR_SET_PATH', () => {
    const file = path.join(dir, 'custom.binpb');
    expect(resolveDescriptorSetPath({ DESCRIPTOR_SET_PATH: file }, path.join(dir, 'main.js'))).toBe(
      file,
    );
  });

  it('then the set next to the running bundle, then the source path', () => {
    const entry = path.join(dir, 'main.js');
    writeFileSync(entry, '');
    expect(resolveDescriptorSetPath({}, entry)).toBe(descriptorSetPath);
    mkdirSync(path.join(dir, 'descriptors'));
    const besideBundle = path.join(dir, 'descriptors', 'trellis.binpb');
    copyFileSync(descriptorSetPath, besideBundle);
    expect(resolveDescriptorSetPath({ DESCRIPTOR_SET_PATH: '' }, entry)).toBe(besideBundle);
    expect(loadDescriptorSet(resolveDescriptorSetPath({}, entry))).toEqual(loadDescriptorSet());
  });

  it('names the missing file and both ways to fix it', () => {
    expect(() => loadDescriptorSet(path.join(dir, 'nope.binpb'))).toThrow(
      /descriptor set not found at .*nope\.binpb.*contracts:generate.*DESCRIPTOR_SET_PATH/,
    );
  });
});
