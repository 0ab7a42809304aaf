module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'platform-batching',
  rootDir: __dirname,
};
