/** Examples for `imgctl help COMMAND` (and `imgctl COMMAND --help`), one list per command. */
import type { Command } from 'commander';

const EXAMPLES: Record<string, string[]> = {
  login: [
    'imgctl login --url https://images.example.org/api/v1 --token "$TOKEN"',
    'get-token | imgctl login --url https://images.example.org/api/v1',
    "imgctl login --url http://127.0.0.1:3000/api/v1 --token-command 'npm run --silent token -- --user admin1 --admin --ttl 15m'",
    'imgctl login --url "$API" --cognito-client "$CLIENT" --region eu-west-1 --user alice',
  ],
  config: ['imgctl config', 'imgctl config set url https://images.example.org/api/v1', 'imgctl --json config'],
  logout: ['imgctl logout'],
  list: ['imgctl list', 'imgctl list --distro rocky9', 'imgctl ls --parent rocky9-base --json'],
  show: ['imgctl show rocky9-compute', 'imgctl show 1be8d08b2ad446f48ca26af292f49867 --json'],
  create: [
    'imgctl create rocky9-compute --description "Rocky 9 compute nodes" --distro rocky9',
    'imgctl create rocky9-gpu --parent rocky9-compute',
  ],
  update: [
    'imgctl update rocky9-compute description="Rocky 9.4 compute" distro=rocky9',
    'imgctl update rocky9-compute parent=   # clears the parent',
  ],
  replace: ['imgctl replace rocky9-compute rocky9-compute --description "only this"'],
  delete: ['imgctl delete rocky9-old'],
  clone: ['imgctl clone rocky9-compute rocky9-gpu --description "GPU nodes, same base"'],
  freeze: ['imgctl freeze rocky9-compute'],
  unfreeze: ['imgctl unfreeze rocky9-compute'],
  stat: ['imgctl stat rocky9-compute'],
  info: ['imgctl info rocky9-compute', 'imgctl info rocky9-compute --json'],
  upload: [
    'imgctl upload rocky9-compute rocky9-compute.squashfs',
    'imgctl upload rocky9-compute big.squashfs --limit-rate 20M   # leave the link some room',
    'imgctl upload rocky9-compute big.squashfs -c 8 --part-size 128M --no-wait',
    'imgctl upload rocky9-compute big.squashfs --restart   # discard an interrupted upload',
  ],
  download: [
    'imgctl download rocky9-compute            # into ./rocky9-compute.cwsquash',
    'imgctl download rocky9-compute /srv/images/rocky9.squashfs --force',
    'imgctl download rocky9-compute --limit-rate 50M -c 8',
  ],
  capture: [
    "imgctl capture rocky9-compute            # this node's / (as root), gzip, the default excludes",
    'imgctl capture rocky9-compute --root /srv/rootfs --exclude "var/cache/*" --compress zstd',
    "IMGCTL_CAPTURE_CREDENTIAL=<id>.<secret> imgctl --url https://images.example.org/api/v1 capture --root /   # on a node, as the job's command says",
    'imgctl capture rocky9-compute --tmp-dir /scratch --limit-rate 50M',
  ],
  captures: ['imgctl captures rocky9-compute', 'imgctl captures rocky9-compute --json'],
  'revoke-capture': ['imgctl revoke-capture rocky9-compute 5c0ffee0123456789abcdef012345678'],
  completion: [
    'source <(imgctl completion bash)          # in ~/.bashrc',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a zsh expansion the user types, not a template.
    'imgctl completion zsh > "${fpath[1]}/_imgctl"',
  ],
};

export function addExamples(program: Command): void {
  for (const cmd of program.commands) {
    const examples = EXAMPLES[cmd.name()];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  }
}
