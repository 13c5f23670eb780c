// The git flags every command that reads or writes a remote takes (DESIGN §5), parsed once.
import type { GitRemoteOptions } from '../git/index.ts';

export const GIT_FLAGS = {
  'git-url': { type: 'string' },
  'git-credentials-dir': { type: 'string' },
  'git-ssh-key-file': { type: 'string' },
  'git-ssh-known-hosts-file': { type: 'string' },
} as const;

export const GIT_FLAGS_HELP = `  --git-credentials-dir DIR   folder with files username + password, or bearerToken
                              (default: env GIT_USERNAME + GIT_PASSWORD, or GIT_BEARER_TOKEN);
                              for SSH the files identity and known_hosts
  --git-ssh-key-file FILE     SSH private key (default: DIR/identity, else env GIT_SSH_KEY_FILE)
  --git-ssh-known-hosts-file FILE
                              the server's host keys (default: DIR/known_hosts, else env
                              GIT_SSH_KNOWN_HOSTS_FILE)`;

/** The remote options of the parsed git flags (`url` checked by the caller). */
export function gitRemoteOptions(values: { [K in keyof typeof GIT_FLAGS]?: string | undefined }, url: string): GitRemoteOptions {
  return {
    url,
    ...(values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {}),
    ...(values['git-ssh-key-file'] ? { sshKeyFile: values['git-ssh-key-file'] } : {}),
    ...(values['git-ssh-known-hosts-file'] ? { knownHostsFile: values['git-ssh-known-hosts-file'] } : {}),
  };
}
